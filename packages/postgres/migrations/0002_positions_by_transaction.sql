-- Appends stop serialising on one counter row. A position is now made of the appending
-- transaction's id and the event's ordinal inside that transaction:
--
--   position = base + (xid - origin_xid) * 4096 + ordinal        (ordinal 0 .. 4095)
--
-- Readers of the global order only return positions below the oldest transaction of this database
-- still running. Every event below that bound belongs to a finished transaction, so it is
-- either visible already or was rolled back: nothing can appear there later, and a reader that
-- has passed position P never finds a new event below P. Positions have gaps (every transaction
-- in the cluster consumes an xid, aborted appends leave holes); they still only increase in the
-- order readers see them. See README, "How appends are ordered".

-- Positions already handed out stay; new ones start above them. Taking the counter's lock first
-- waits for old-style appends in flight.
CREATE TABLE position_origin (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  base bigint NOT NULL,
  origin_xid bigint NOT NULL
);
INSERT INTO position_origin (singleton, base, origin_xid)
SELECT true, c.last_position + 1, pg_snapshot_xmin(pg_current_snapshot())::text::bigint
  FROM position_counter c WHERE c.singleton FOR UPDATE;

DROP FUNCTION append_events(text, text, integer, jsonb);
DROP TABLE position_counter;

-- The oldest transaction of this database still running, as a 64-bit xid (its snapshot's xmax
-- when none is): every transaction below it has ended. Transactions of other databases cannot
-- write here, so, unlike pg_snapshot_xmin, they do not hold readers back. pg_stat_activity shows
-- backend_xid to every role; its 32-bit xids are widened against xmax (running xids are less than
-- 2^31 behind it). Prepared transactions count too. Under REPEATABLE READ or SERIALIZABLE the
-- caller's one snapshot is older than this look, so its xmin is the bound.
CREATE FUNCTION oldest_running_xid() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
  v_xmax bigint := pg_snapshot_xmax(pg_current_snapshot())::text::bigint;
  v_oldest bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RETURN pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  END IF;
  -- Backend status is cached per transaction: read it afresh.
  PERFORM pg_stat_clear_snapshot();
  SELECT min(v_xmax - ((v_xmax - x.xid32) % 4294967296 + 4294967296) % 4294967296) INTO v_oldest
    FROM (SELECT a.backend_xid::text::bigint AS xid32 FROM pg_stat_activity a
           WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
          UNION ALL
          SELECT p.transaction::text::bigint FROM pg_prepared_xacts p
           WHERE p.database = current_database()) AS x;
  RETURN least(v_xmax, coalesce(v_oldest, v_xmax));
END
$$;

-- The lowest position a transaction that is still running could hold: readers stop below it.
CREATE FUNCTION visible_position_bound() RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path FROM CURRENT
AS $$
  SELECT o.base + (oldest_running_xid() - o.origin_xid) * 4096 FROM position_origin o
$$;

-- The page readAll asks for, as committed, and the bound it may give out below. The bound is taken
-- first and the rows by a later statement (a plpgsql statement takes its own snapshot under READ
-- COMMITTED): a transaction that ends between the two is then both past the bound and visible.
CREATE FUNCTION read_all(p_after bigint, p_limit integer)
RETURNS TABLE (bound bigint, "position" bigint, event_id text, stream_id text, version integer, type text,
               data jsonb, metadata jsonb, occurred_ms bigint)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
  v_bound bigint := visible_position_bound();
BEGIN
  RETURN QUERY
    SELECT v_bound, e.position, e.event_id, e.stream_id, e.version, e.type, e.data, e.metadata,
           round(extract(epoch FROM e.occurred_at) * 1000)::bigint
      FROM events e WHERE e.position > p_after ORDER BY e.position LIMIT p_limit;
END
$$;

-- One round trip per append. The stream's own advisory lock (not a global one) makes the version
-- check exact: appends to different streams never wait for each other. A version mismatch or an
-- already stored event id is returned (ok = false), not raised, so a caller inside a larger
-- transaction can catch the error without the whole transaction being aborted.
-- p_mode: 'exact' (stream must be at p_expected), 'any', 'exists' (stream must have events).
CREATE FUNCTION append_events(p_stream text, p_mode text, p_expected integer, p_events jsonb)
RETURNS TABLE (ok boolean, stream_version integer, last_position bigint, duplicate_event_id text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_first bigint;
  v_last bigint;
  v_current integer;
  v_duplicate text;
  v_base bigint;
BEGIN
  IF v_count > 0 THEN
    -- Class 0x46414E ("FAN") + hash of schema and stream; a hash collision only makes two streams
    -- share a lock. Held until the transaction ends, like the row lock it replaces.
    PERFORM pg_advisory_xact_lock(4604238, hashtext(current_schema() || '/' || p_stream));
  END IF;
  -- Read after taking the lock: a new snapshot sees every append to this stream that committed.
  SELECT coalesce(max(e.version), 0) INTO v_current FROM events e WHERE e.stream_id = p_stream;
  IF v_count = 0 THEN
    SELECT coalesce(max(e.position), 0) INTO v_last
      FROM events e WHERE e.stream_id = p_stream AND e.version = v_current;
  ELSE
    -- Checked before the version: a replayed append is reported as such, not as a conflict.
    SELECT e.event_id INTO v_duplicate FROM events e
     WHERE e.event_id IN (SELECT x->>'eventId' FROM jsonb_array_elements(p_events) AS d(x)) LIMIT 1;
    IF v_duplicate IS NOT NULL THEN
      RETURN QUERY SELECT false, v_current, NULL::bigint, v_duplicate;
      RETURN;
    END IF;
  END IF;

  IF (p_mode = 'exact' AND v_current <> p_expected) OR (p_mode = 'exists' AND v_current = 0) THEN
    RETURN QUERY SELECT false, v_current, v_last, NULL::text;
    RETURN;
  END IF;
  IF v_count = 0 THEN
    RETURN QUERY SELECT true, v_current, v_last, NULL::text;
    RETURN;
  END IF;

  SELECT o.base + (pg_current_xact_id()::text::bigint - o.origin_xid) * 4096 INTO v_base
    FROM position_origin o;
  -- Earlier appends of this same transaction (visible to it, and to no one else yet).
  SELECT coalesce(max(e.position) + 1, v_base) INTO v_first
    FROM events e WHERE e.position >= v_base AND e.position < v_base + 4096;
  IF v_first + v_count > v_base + 4096 THEN
    RAISE EXCEPTION 'one transaction may append at most 4096 events (this one asked for % more after %)',
      v_count, v_first - v_base USING ERRCODE = '54000';
  END IF;

  INSERT INTO events (position, event_id, stream_id, version, type, data, metadata, occurred_at)
  SELECT v_first + t.ord - 1, t.x->>'eventId', p_stream, v_current + t.ord::integer, t.x->>'type',
         t.x->'data', t.x->'metadata',
         'epoch'::timestamptz + ((t.x->>'occurredAt')::bigint * interval '1 millisecond')
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, ord);

  RETURN QUERY SELECT true, v_current + v_count, v_first + v_count - 1, NULL::text;
END
$$;
