-- For the audit trail at scale: history filtered by AMI or state in time order, and the event log by time.
CREATE INDEX deployments_by_ami ON deployments (ami, created_at DESC);
CREATE INDEX deployments_by_state_created ON deployments (state, created_at DESC);
CREATE INDEX events_by_time ON events (at);
