//! Loading what packing needs: note trees (a note with its author, reply and renote
//! targets, and their reactions) and the viewer's follow relations to their authors
//! and reactions to the notes.

use std::collections::HashMap;

use missive_core::model::{Note, User};
use missive_core::packed::{NoteTree, Viewer};
use missive_store::Result;

use crate::ctx::Ctx;

/// How deep embedded renotes go (a quote of a quote of a quote …). Misskey recurses
/// without a limit; chains deeper than this are cut off rather than loaded forever.
const MAX_RENOTE_DEPTH: usize = 4;

/// Builds the tree of `note` for packing: its author, its reply target (not embedding
/// further) and its renote target (embedding its own targets), with one query per level.
pub async fn note_tree(ctx: &Ctx, note: Note, author: Option<User>) -> Result<NoteTree> {
    let mut trees = note_trees(ctx, vec![note], author.into_iter().collect()).await?;
    Ok(trees.remove(0))
}

/// `note_tree` of a note being created by `author`: it has no reactions yet, so they
/// are not read (one statement less on the hottest path, `notes/create`).
pub async fn new_note_tree(ctx: &Ctx, note: Note, author: User) -> Result<NoteTree> {
    let mut users = HashMap::from([(author.id.clone(), author)]);
    let mut trees = build_level(ctx, vec![note], &mut users, 0, Fresh::Yes).await?;
    Ok(trees.remove(0))
}

/// Whether the notes of a level are new, and so have no reactions to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    Yes,
    No,
}

/// Builds the trees of several notes at once, keeping their order.
pub async fn note_trees(
    ctx: &Ctx,
    notes: Vec<Note>,
    known_users: Vec<User>,
) -> Result<Vec<NoteTree>> {
    let mut users: HashMap<String, User> =
        known_users.into_iter().map(|u| (u.id.clone(), u)).collect();
    build_level(ctx, notes, &mut users, 0, Fresh::No).await
}

async fn build_level(
    ctx: &Ctx,
    notes: Vec<Note>,
    users: &mut HashMap<String, User>,
    depth: usize,
    fresh: Fresh,
) -> Result<Vec<NoteTree>> {
    // Targets of this level: replies are shallow, renotes are packed in detail.
    let reply_ids: Vec<String> = notes.iter().filter_map(|n| n.reply_id.clone()).collect();
    let renote_ids: Vec<String> = if depth < MAX_RENOTE_DEPTH {
        notes.iter().filter_map(|n| n.renote_id.clone()).collect()
    } else {
        Vec::new()
    };
    let replies: HashMap<String, Note> = ctx
        .store
        .notes_by_ids(&reply_ids)
        .await?
        .into_iter()
        .map(|n| (n.id.clone(), n))
        .collect();
    let renote_notes = ctx.store.notes_by_ids(&renote_ids).await?;
    let reacted_ids: Vec<String> = notes
        .iter()
        .filter(|_| fresh == Fresh::No)
        .chain(replies.values())
        .map(|n| n.id.clone())
        .collect();
    let mut reactions = ctx.store.note_reactions(&reacted_ids).await?;

    let mut missing: Vec<String> = notes
        .iter()
        .chain(replies.values())
        .chain(renote_notes.iter())
        .map(|n| n.user_id.clone())
        .filter(|id| !users.contains_key(id))
        .collect();
    missing.sort();
    missing.dedup();
    for user in ctx.store.users_by_ids(&missing).await? {
        users.insert(user.id.clone(), user);
    }

    let renote_trees = if renote_notes.is_empty() {
        Vec::new()
    } else {
        Box::pin(build_level(ctx, renote_notes, users, depth + 1, Fresh::No)).await?
    };
    let renotes: HashMap<String, NoteTree> = renote_trees
        .into_iter()
        .map(|t| (t.note.id.clone(), t))
        .collect();

    let mut out = Vec::with_capacity(notes.len());
    for note in notes {
        let Some(author) = users.get(&note.user_id).cloned() else {
            continue;
        };
        let reply = note
            .reply_id
            .as_ref()
            .and_then(|id| replies.get(id))
            .and_then(|r| {
                let author = users.get(&r.user_id)?.clone();
                Some(Box::new(NoteTree {
                    note: r.clone(),
                    author,
                    reply: None,
                    renote: None,
                    reactions: reactions.get(&r.id).cloned().unwrap_or_default(),
                }))
            });
        let renote = note
            .renote_id
            .as_ref()
            .and_then(|id| renotes.get(id))
            .map(|t| Box::new(t.clone()));
        let note_reactions = reactions.remove(&note.id).unwrap_or_default();
        out.push(NoteTree {
            note,
            author,
            reply,
            renote,
            reactions: note_reactions,
        });
    }
    Ok(out)
}

/// The viewer `user_id`, with which of the trees' authors they follow and their
/// reactions to the trees' notes that have any.
pub async fn viewer(ctx: &Ctx, user_id: &str, trees: &[&NoteTree]) -> Result<Viewer> {
    let mut authors = Vec::new();
    let mut reacted = Vec::new();
    for tree in trees {
        collect(tree, &mut authors, &mut reacted);
    }
    authors.sort();
    authors.dedup();
    authors.retain(|a| a != user_id);
    reacted.sort();
    reacted.dedup();
    let following = ctx.store.followed_among(user_id, &authors).await?;
    let reactions = ctx.store.reactions_of_user(user_id, &reacted).await?;
    Ok(Viewer {
        id: user_id.to_owned(),
        following,
        reactions,
    })
}

/// The authors of a tree's notes, and the ids of those notes that have reactions.
fn collect(tree: &NoteTree, authors: &mut Vec<String>, reacted: &mut Vec<String>) {
    authors.push(tree.note.user_id.clone());
    if tree.reactions.total() > 0 {
        reacted.push(tree.note.id.clone());
    }
    for child in [&tree.reply, &tree.renote].into_iter().flatten() {
        collect(child, authors, reacted);
    }
}
