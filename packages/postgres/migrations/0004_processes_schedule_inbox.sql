-- Process managers: each process's current version, its history, the messages scheduled for later
-- (timeouts on transports that cannot delay), and the inbox of idempotent consumers.

-- One row per process. Every change is a new version, written only over the version it was read at
-- (optimistic concurrency, see PostgresProcessStore.save).
CREATE TABLE processes (
  process_type text NOT NULL,
  process_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'compensated')),
  version integer NOT NULL CHECK (version > 0),
  state jsonb NOT NULL,
  timeouts jsonb NOT NULL,
  failure jsonb,
  parked jsonb NOT NULL,
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (process_type, process_id)
);
CREATE INDEX processes_started_idx ON processes (started_at DESC, process_type, process_id);
CREATE INDEX processes_status_idx ON processes (process_type, status);

-- One row per version. A message id appears at most once per process: that is how a redelivered
-- message is recognised.
CREATE TABLE process_history (
  process_type text NOT NULL,
  process_id text NOT NULL,
  version integer NOT NULL,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  message_id text,
  message_type text,
  error jsonb,
  PRIMARY KEY (process_type, process_id, version)
);
CREATE UNIQUE INDEX process_history_message_idx ON process_history (process_type, process_id, message_id)
  WHERE message_id IS NOT NULL;

-- Messages kept until due. A relay moves the due ones into the outbox (release_scheduled), whose
-- relay sends them: the move is one transaction, so a due message is neither lost nor doubled.
CREATE TABLE scheduled_messages (
  id bigserial PRIMARY KEY,
  channel text NOT NULL,
  message_id text NOT NULL,
  type text NOT NULL,
  body text NOT NULL,
  headers jsonb NOT NULL,
  key text,
  due_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheduled_messages_due_idx ON scheduled_messages (due_at, id);

-- Moves at most p_limit due messages into the outbox, oldest due first, and numbers them for the
-- outbox relay (outbox_seal, migration 0003). Rows another release is moving are skipped, not
-- waited for, so several relays share the work.
CREATE FUNCTION release_scheduled(p_limit integer) RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_moved integer;
BEGIN
  WITH due AS (
    DELETE FROM scheduled_messages s
     WHERE s.id IN (SELECT id FROM scheduled_messages WHERE due_at <= now()
                     ORDER BY due_at, id LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING s.id, s.channel, s.message_id, s.type, s.body, s.headers, s.key, s.due_at
  )
  INSERT INTO outbox (channel, message_id, type, body, headers, key, options)
  SELECT channel, message_id, type, body, headers, key, '{}'::jsonb FROM due ORDER BY due_at, id;
  GET DIAGNOSTICS v_moved = ROW_COUNT;
  IF v_moved > 0 THEN
    PERFORM outbox_seal();
  END IF;
  RETURN v_moved;
END
$$;

-- The message ids each consumer has handled, written in the transaction of the handler's effects.
CREATE TABLE inbox (
  consumer text NOT NULL,
  message_id text NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_handled_idx ON inbox (handled_at);
