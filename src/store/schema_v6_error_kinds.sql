-- Version 6: the class of a feed's last error beside its sentence (`model::FailureKind`
-- word: timeout, http_status, parse, store, ...), so `feeds list` and the metrics can count
-- failures by kind. NULL while the feed is not failing, and for errors recorded before.
ALTER TABLE feeds ADD COLUMN last_error_kind TEXT;
