-- 0015_image_config: the rest of the image config, and the user along the
-- history.
--
-- healthcheck (JSON object: Test, Interval, Timeout, StartPeriod, Retries,
-- durations in nanoseconds, as the config gives them), onbuild and shell
-- (JSON arrays) come from the config; manifest_history.user is the USER in
-- effect at each step, read from the USER steps of created_by ('' before
-- any). Images indexed before this migration have NULL in all four until
-- they are indexed again.
ALTER TABLE manifests ADD COLUMN healthcheck TEXT;
ALTER TABLE manifests ADD COLUMN onbuild TEXT;
ALTER TABLE manifests ADD COLUMN shell TEXT;
ALTER TABLE manifest_history ADD COLUMN user TEXT;

DROP VIEW images;
CREATE VIEW images AS
SELECT m.digest, r.registry, r.name AS repository, rm.index_digest,
       m.media_type, m.os, m.architecture, m.variant, m.config_digest, m.created,
       m.user, m.workdir, m.entrypoint, m.cmd, m.env, m.labels,
       m.exposed_ports, m.volumes, m.stop_signal, m.size AS manifest_size,
       rm.first_seen, rm.last_seen, m.healthcheck, m.onbuild, m.shell
FROM repo_manifests rm
JOIN manifests m ON m.id = rm.manifest_id
JOIN repositories r ON r.id = rm.repository_id
WHERE m.indexed_at IS NOT NULL;

DROP VIEW history;
CREATE VIEW history AS
SELECT m.digest AS image_digest, h.position, h.created, h.created_by, h.comment,
       h.author, h.empty_layer, h.layer_position, h.user
FROM manifest_history h
JOIN manifests m ON m.id = h.manifest_id
WHERE m.indexed_at IS NOT NULL;
