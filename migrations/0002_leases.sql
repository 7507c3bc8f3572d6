-- Which process runs which deployment now. The holder renews its heartbeat every few seconds; a lease whose
-- expiry has passed (or whose process is gone from this host) may be taken over by `resume` or `rollback`.
CREATE TABLE leases (
    service       TEXT PRIMARY KEY,
    deployment_id TEXT NOT NULL REFERENCES deployments (id),
    holder        TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    host          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    acquired_at   TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);

CREATE INDEX leases_by_deployment ON leases (deployment_id);
