-- World snapshots (SQLite dialect). One row is one whole snapshot: the world is a
-- versioned, checksummed blob (see server/src/persistence/format.rs) and the other
-- columns repeat what operators list without decoding it. A row is inserted in one
-- transaction, so a snapshot is either wholly there or not at all. Ships and their
-- owners live inside the blob: a player's ship is the one whose owner is that player.
CREATE TABLE snapshots (
    id             INTEGER PRIMARY KEY,
    created_at     BIGINT  NOT NULL,
    tick           BIGINT  NOT NULL,
    game_time      DOUBLE PRECISION NOT NULL,
    format_version BIGINT  NOT NULL,
    ship_count     BIGINT  NOT NULL,
    size_bytes     BIGINT  NOT NULL,
    checksum       BIGINT  NOT NULL,
    restored_from  BIGINT,
    data           BLOB    NOT NULL
);
