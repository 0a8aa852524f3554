-- Reactions to notes: one per user and note (Misskey's `note_reaction`). A note's
-- `reactionAndUserPairCache` is read from here: its newest pairs, by reaction id.
CREATE TABLE note_reactions (
    id TEXT PRIMARY KEY NOT NULL,
    note_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    reaction TEXT NOT NULL,
    UNIQUE (note_id, user_id)
);
CREATE INDEX note_reactions_by_note ON note_reactions (note_id, id);
