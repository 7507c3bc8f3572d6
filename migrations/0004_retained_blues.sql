-- Completed releases whose blue still stands (for rollback by undo, and for retirement after the retention window):
-- a handful of rows however long the history, so `status` and `start` find them without reading every record.
CREATE INDEX deployments_blue_retained ON deployments (service)
    WHERE state = 'completed' AND json_extract(record, '$.blueRetiredAt') IS NULL;
