-- Reactions to notes: one per user and note (Misskey's `note_reaction`).
-- `in_pair_cache` marks the reactions that Misskey's `reactionAndUserPairCache` holds:
-- a reaction joins it when made while the note has fewer than 16 cached pairs, and
-- leaves it when undone, so a reaction made while the cache was full never joins.
CREATE TABLE note_reactions (
    id TEXT PRIMARY KEY NOT NULL,
    note_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reaction TEXT NOT NULL,
    in_pair_cache BIGINT NOT NULL DEFAULT 0,
    UNIQUE (note_id, user_id)
);
CREATE INDEX note_reactions_by_note ON note_reactions (note_id, id);
