-- Several workers sharing one scan (issue 18): PostgreSQL is the work
-- queue. Private tables: no view reads them, auditor_reader has no grant.

-- A scan shared by workers: the scans row they all write to, joined by the
-- targets they were given (the same label), while it is not done.
CREATE TABLE work_scans (
    scan_id   bigint PRIMARY KEY REFERENCES scans (id),
    targets   text NOT NULL,
    state     text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
    finisher  text                -- the worker that ran the rules
);
CREATE UNIQUE INDEX work_scans_open ON work_scans (targets) WHERE state = 'open';

-- One planning per registry of a shared scan: planned by whichever worker
-- holds the advisory lock of (scan, registry); stats are that crawl's
-- counters (repositories, tags, images, skipped layers, errors...).
CREATE TABLE work_plans (
    scan_id  bigint NOT NULL REFERENCES work_scans (scan_id),
    registry text NOT NULL,
    targets  bytea NOT NULL,      -- the registry's targets, gob-encoded
    planned  boolean NOT NULL DEFAULT false,
    stats    bytea,               -- crawl.Stats of the plan, gob-encoded
    PRIMARY KEY (scan_id, registry)
);

-- The work: kind 0 a layer blob to read (key: its digest), kind 1 an image
-- to store once its layers are done (key: repository, index, digest).
-- state: pending, claimed (by owner, until lease_until), done or failed.
-- epoch grows at each claim: a write carries the epoch it claimed with and
-- is refused when the item was claimed again since (a lease taken over).
CREATE TABLE work_items (
    id          bigserial PRIMARY KEY,
    scan_id     bigint NOT NULL REFERENCES work_scans (scan_id),
    kind        smallint NOT NULL,
    key         text NOT NULL,
    deps        text[] NOT NULL DEFAULT '{}',  -- an image's layer digests
    payload     bytea NOT NULL,                -- gob-encoded
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
    owner       text,
    epoch       bigint NOT NULL DEFAULT 0,
    lease_until timestamptz,
    claims      integer NOT NULL DEFAULT 0,
    result      bytea,                         -- gob-encoded, when done
    error       text,                          -- when failed
    UNIQUE (scan_id, kind, key)
);
CREATE INDEX work_items_open ON work_items (scan_id, kind, id) WHERE state IN ('pending', 'claimed');

-- The workers of a shared scan and when each was last seen alive: a
-- registry's requests_per_second is split among the live ones.
CREATE TABLE work_workers (
    scan_id bigint NOT NULL REFERENCES work_scans (scan_id),
    name    text NOT NULL,
    seen    timestamptz NOT NULL,
    PRIMARY KEY (scan_id, name)
);

-- Politeness shared by every worker, per registry host: no request before
-- not_before (a Retry-After, or a breaker open), and the breaker's state.
CREATE TABLE registry_politeness (
    registry   text PRIMARY KEY,
    not_before timestamptz,
    failures   integer NOT NULL DEFAULT 0,
    reason     text
);
