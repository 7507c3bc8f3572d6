-- Deployments, their append-only event log, and operator requests from other terminals.
CREATE TABLE deployments (
    id                 TEXT PRIMARY KEY,
    service            TEXT NOT NULL,
    ami                TEXT NOT NULL,
    file_digest        TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'launching', 'waiting_for_capacity', 'checking_health',
                                                      'shifting', 'paused', 'promoting', 'completed', 'rolling_back',
                                                      'rolled_back', 'failed')),
    step_index         INTEGER NOT NULL,
    green_weight       INTEGER NOT NULL CHECK (green_weight BETWEEN 0 AND 100),
    blue_asg           TEXT NOT NULL,
    green_asg          TEXT NOT NULL,
    blue_target_group  TEXT NOT NULL,
    green_target_group TEXT NOT NULL,
    actor              TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    finished_at        TEXT,
    record             TEXT NOT NULL
);

CREATE INDEX deployments_by_service ON deployments (service, created_at DESC);
CREATE INDEX deployments_by_state ON deployments (state);
CREATE INDEX deployments_by_created ON deployments (created_at DESC);
-- At most one active deployment per service, ever.
CREATE UNIQUE INDEX deployments_one_active_per_service ON deployments (service)
    WHERE state NOT IN ('completed', 'rolled_back', 'failed');

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL REFERENCES deployments (id),
    at            TEXT NOT NULL,
    from_state    TEXT NOT NULL,
    to_state      TEXT NOT NULL,
    message       TEXT NOT NULL,
    actor         TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX events_by_deployment ON events (deployment_id, id);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TABLE requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL REFERENCES deployments (id),
    kind          TEXT NOT NULL CHECK (kind IN ('rollback', 'promote')),
    reason        TEXT,
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL,
    handled_at    TEXT
);

CREATE INDEX requests_pending ON requests (deployment_id) WHERE handled_at IS NULL;
