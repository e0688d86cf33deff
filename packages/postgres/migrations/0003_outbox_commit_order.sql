-- Outbox rows are sent per channel in commit order, not id order. Ids come from a sequence when a
-- row is inserted, so two transactions enqueueing to one channel at once can commit in the other
-- order. Just before COMMIT, the transaction manager calls outbox_seal(): it takes a transaction
-- advisory lock per channel it enqueued to (in name order, so sealers never deadlock) and numbers
-- its rows from commit_seq. The lock is held through COMMIT, so the next transaction sealing the
-- same channel numbers its rows after this one has committed: commit_seq order is commit order,
-- and a relay that sees a row has already seen every row of its channel numbered before it. The
-- lock covers only seal + COMMIT (one round trip), not the transaction.

CREATE SEQUENCE outbox_commit_seq;
ALTER TABLE outbox ADD COLUMN commit_seq bigint;
-- Rows already there keep their id order, before every row sealed from now on.
UPDATE outbox SET commit_seq = id;
SELECT setval('outbox_commit_seq', greatest((SELECT max(id) FROM outbox), 1));

-- The relay finds each channel's head, and rows of one channel in order, from this index.
CREATE INDEX outbox_pending_channel_idx ON outbox (channel, commit_seq)
  WHERE sent_at IS NULL AND failed_at IS NULL;
-- outbox_seal() finds the rows it numbers from this one (only in-flight rows are in it).
CREATE INDEX outbox_unsealed_idx ON outbox (id) WHERE commit_seq IS NULL;

CREATE FUNCTION outbox_seal() RETURNS void
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_channel text;
BEGIN
  -- This transaction's unsealed rows (its own uncommitted rows are the only unsealed ones it sees).
  FOR v_channel IN
    SELECT DISTINCT o.channel FROM outbox o WHERE o.commit_seq IS NULL ORDER BY o.channel
  LOOP
    -- Class 0x464153 ("FAS"), the schema-qualified channel hashed.
    PERFORM pg_advisory_xact_lock(4604243, hashtext(current_schema() || '.' || v_channel));
  END LOOP;
  UPDATE outbox o SET commit_seq = s.seq
    FROM (SELECT id, nextval('outbox_commit_seq') AS seq
            FROM (SELECT id FROM outbox WHERE commit_seq IS NULL ORDER BY id) AS ordered) AS s
   WHERE o.id = s.id;
END
$$;
