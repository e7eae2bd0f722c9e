-- Fair play (issue 16): affiliations, disputes and rulings are few, and every allocation
-- reads those logged before its value entry. A partial index finds them without scanning
-- the log.
CREATE INDEX entries_fair_play ON entries (log_id, seq)
    WHERE entry_type IN ('affiliation', 'dispute', 'ruling');
