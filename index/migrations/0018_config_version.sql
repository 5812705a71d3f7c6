-- 0018_config_version: which image rows hold the whole config (the columns
-- of 0015). config_version is 1 for rows indexed since 0015 and NULL for
-- older ones: a scan that meets such an image reads its manifest and config
-- again (small; its layers are not read again) and fills the columns in.
ALTER TABLE manifests ADD COLUMN config_version INTEGER;
UPDATE manifests SET config_version = 1
WHERE is_index = 0 AND indexed_at IS NOT NULL
  AND indexed_at >= (SELECT applied FROM migrations WHERE name = '0015_image_config.sql');
