//! House rules that the compiler does not check, over every Rust file under `crates/`.
//!
//! - Every file starts with a `//!` header saying what it is for.
//! - Each dependency stays on its side of the crate boundaries (ARCHITECTURE.md): reqwest
//!   only in the delivery worker, sqlx only in the store, axum never in the worker or core.
//! - A comment that cites a file cites one that is in the repository. A cited file is a
//!   word of a comment ending in one of `CHECKED_EXTENSIONS`; it is found when some file's
//!   path in the repository ends with it (`worker/mod.rs`, `BENCHMARKS.md`). Misskey's
//!   sources are `.ts` files and are not checked, so comments may name them.
//! - Invariants are cited as `ARCHITECTURE.md invariant N`, with N in its list.
//! - Doc comments hold no code examples: doctests are switched off, as they would only
//!   cost CI time, so an example would never run.
//!
//! It lives in missive-core's tests because that crate is the cheapest to build.

use std::path::{Path, PathBuf};

/// Extensions of the words in comments that are taken for files of this repository.
const CHECKED_EXTENSIONS: &[&str] = &["md", "rs", "toml", "sql", "js", "mjs", "json", "sh"];

/// Words ending like a file that name something else.
const NOT_FILES: &[&str] = &[
    // The runtime, not a file.
    "Node.js",
    // The operator's configuration file, written at deployment.
    "missive.toml",
];

/// Where each dependency may be used in production code (`crates/*/src`), as path
/// prefixes from the repository root. Tests (`crates/*/tests`) may use any of them.
const ALLOWED_IN: &[(&str, &[&str])] = &[
    (
        "reqwest",
        // The bench is a client of missive, so it has its own.
        &["crates/missive/src/worker/", "crates/missive-bench/"],
    ),
    (
        "sqlx",
        // The bench creates and drops its scratch PostgreSQL databases.
        &["crates/missive-store/", "crates/missive-bench/"],
    ),
];

/// Where a dependency must not be used at all, as path prefixes from the repository root.
const FORBIDDEN_IN: &[(&str, &[&str])] = &[(
    "axum",
    &["crates/missive/src/worker/", "crates/missive-core/"],
)];

#[test]
fn every_rust_file_starts_with_a_header() {
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|file| !file.text.starts_with("//!"))
        .map(|file| file.path)
        .collect();
    assert!(
        offenders.is_empty(),
        "these files do not start with a `//!` header: {offenders:#?}"
    );
}

#[test]
fn dependencies_stay_within_their_crates() {
    let mut offenders = Vec::new();
    for file in rust_files() {
        let code = split(&file.text).code;
        let production = file.path.contains("/src/");
        for &(dependency, allowed) in ALLOWED_IN {
            if production
                && !allowed.iter().any(|prefix| file.path.starts_with(prefix))
                && uses(&code, dependency)
            {
                offenders.push(format!("{}: uses {dependency}", file.path));
            }
        }
        for &(dependency, forbidden) in FORBIDDEN_IN {
            if forbidden.iter().any(|prefix| file.path.starts_with(prefix))
                && uses(&code, dependency)
            {
                offenders.push(format!("{}: uses {dependency}", file.path));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn doc_comments_have_no_examples() {
    let mut offenders = Vec::new();
    for file in rust_files() {
        for (line, comment) in split(&file.text).comments {
            let doc = comment.starts_with("///") || comment.starts_with("//!");
            if doc && comment.contains("```") {
                offenders.push(format!("{}:{line}", file.path));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "doc examples are never run (`doctest = false` in the crates' [lib]): \
         write the example as a unit test: {offenders:#?}"
    );
}

#[test]
fn comments_cite_files_of_the_repository() {
    let repository = all_files();
    let mut offenders = Vec::new();
    for file in rust_files() {
        for (line, comment) in split(&file.text).comments {
            for cited in cited_files(&comment) {
                let found = repository
                    .iter()
                    .any(|path| *path == cited || path.ends_with(&format!("/{cited}")));
                if !found {
                    offenders.push(format!("{}:{line}: {cited}", file.path));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "comments cite files that are not in the repository \
         (describe the fact instead, or name a file of the repository): {offenders:#?}"
    );
}

#[test]
fn invariants_are_cited_from_architecture_md() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let invariants = architecture
        .split("\n## Invariants\n")
        .nth(1)
        .expect("ARCHITECTURE.md has an Invariants section")
        .split("\n## ")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.split_once(". ")
                .is_some_and(|(number, _)| number.parse::<u32>().is_ok())
        })
        .count();
    let mut offenders = Vec::new();
    for file in rust_files() {
        for (line, comment) in split(&file.text).comments {
            if words(&comment).any(|word| word == "DESIGN") {
                offenders.push(format!(
                    "{}:{line}: cites DESIGN, which is not in the repository; \
                     cite `ARCHITECTURE.md invariant N`",
                    file.path
                ));
            }
            for number in cited_invariants(&comment) {
                if number == 0 || number > invariants {
                    offenders.push(format!(
                        "{}:{line}: ARCHITECTURE.md has no invariant {number}",
                        file.path
                    ));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The rules' own reading of Rust: a check that misreads is worse than none.
#[test]
fn the_reader_tells_comments_from_code_and_strings() {
    let parts = split(concat!(
        "//! Header citing `a.md`.\n",
        "let url = \"http://example.com/x.rs\"; // see b.rs\n",
        "let raw = r#\"a \"quoted\" // not.rs\"#; let c = '\"'; let life: &'static str = \"\";\n",
        "/* block c.toml /* nested */ still */ reqwest::get();\n",
        "let escaped = \"\\\" // e.rs\";\n",
    ));
    let comments: Vec<(usize, String)> = parts.comments;
    let cited: Vec<(usize, String)> = comments
        .iter()
        .flat_map(|(line, text)| cited_files(text).into_iter().map(|c| (*line, c)))
        .collect();
    assert_eq!(
        cited,
        [
            (1, "a.md".to_owned()),
            (2, "b.rs".to_owned()),
            (4, "c.toml".to_owned())
        ]
    );
    assert!(uses(&parts.code, "reqwest"));
    assert!(!parts.code.contains("not.rs") && !parts.code.contains("e.rs"));
    assert!(!uses("missive_reqwest::get(); crate::sqlx::x", "reqwest"));
    assert!(!uses("crate::sqlx::x", "sqlx"));
    assert_eq!(
        cited_files("see https://example.com/README.md, Node.js, e.g. misskey-api.md §3."),
        ["misskey-api.md"]
    );
    assert_eq!(
        cited_invariants("(ARCHITECTURE.md invariants 2 and 3; ARCHITECTURE.md invariant 7)"),
        [2, 3, 7]
    );
}

struct RustFile {
    /// From the repository root, with `/` separators.
    path: String,
    text: String,
}

/// The repository's root, two levels above this crate.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `crates/`.
fn rust_files() -> Vec<RustFile> {
    let root = root();
    let files: Vec<RustFile> = all_files()
        .into_iter()
        .filter(|path| path.starts_with("crates/") && path.ends_with(".rs"))
        .map(|path| RustFile {
            text: std::fs::read_to_string(root.join(&path)).unwrap(),
            path,
        })
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.path == "crates/missive-core/tests/tidy.rs"),
        "the walk found this file"
    );
    files
}

/// Every file of the repository, from its root, without build output, installed npm
/// packages and git's own files.
fn all_files() -> Vec<String> {
    let root = root();
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        // Cargo marks its target directories with CACHEDIR.TAG, wherever they are.
        if dir.join("CACHEDIR.TAG").exists() {
            continue;
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if matches!(name.to_str(), Some(".git" | "target" | "node_modules")) {
                continue;
            }
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(&root).unwrap();
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push(parts.join("/"));
            }
        }
    }
    files
}

/// A Rust file split into its code (without comments and string contents) and its
/// comments with their line numbers.
struct Parts {
    code: String,
    comments: Vec<(usize, String)>,
}

/// Splits Rust source into code and comments. It knows line and nested block comments,
/// string literals with escapes, raw strings (`r#"…"#`), and char literals as opposed to
/// lifetimes, which is all a `"` or `//` can hide in.
fn split(text: &str) -> Parts {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::new();
    let mut comments = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            comments.push((line, chars[start..i].iter().collect()));
        } else if c == '/' && at(i + 1) == '*' {
            let (start_line, start) = (line, i);
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
            comments.push((start_line, chars[start..i].iter().collect()));
        } else if c == 'r'
            && (i == 0
                || !is_identifier(chars[i - 1])
                || (chars[i - 1] == 'b' && (i < 2 || !is_identifier(chars[i - 2]))))
            && matches!(at(i + 1), '"' | '#')
        {
            let mut hashes = 0;
            while at(i + 1 + hashes) == '#' {
                hashes += 1;
            }
            if at(i + 1 + hashes) != '"' {
                code.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            code.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
            code.push_str("\"\"");
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A char literal (`'x'`, `'\n'`, `'\u{1F600}'`); otherwise a lifetime.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            code.push_str("' '");
        } else {
            line += usize::from(c == '\n');
            code.push(c);
            i += 1;
        }
    }
    Parts { code, comments }
}

fn is_identifier(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `code` names the crate `dependency` as the first segment of a path.
fn uses(code: &str, dependency: &str) -> bool {
    code.match_indices(&format!("{dependency}::"))
        .any(|(start, _)| {
            code[..start]
                .chars()
                .next_back()
                .is_none_or(|before| !is_identifier(before) && before != ':')
        })
}

/// The words of a comment: runs of letters, digits and `_./-`.
fn words(comment: &str) -> impl Iterator<Item = &str> {
    comment
        .split(|c: char| !(is_identifier(c) || matches!(c, '.' | '/' | '-')))
        .map(|word| word.trim_end_matches(['.', '-']))
        .filter(|word| !word.is_empty())
}

/// The words of a comment that cite a file. The part of a URL after its scheme starts
/// with `//` and is left out: it names a file elsewhere; so is a word that starts with
/// one `/`, which is a path the server serves (`/api.json`), not a file of the repository.
fn cited_files(comment: &str) -> Vec<String> {
    let comment = comment
        .trim_start_matches('/')
        .trim_start_matches(['!', '*']);
    words(comment)
        .filter(|word| !word.starts_with('/') && !NOT_FILES.contains(word))
        .filter(|word| {
            word.rsplit_once('.').is_some_and(|(stem, extension)| {
                !stem.is_empty() && !stem.ends_with('/') && CHECKED_EXTENSIONS.contains(&extension)
            })
        })
        .map(|word| word.trim_start_matches("./").to_owned())
        .collect()
}

/// The numbers N of `ARCHITECTURE.md invariant N` and `ARCHITECTURE.md invariants N and M`.
fn cited_invariants(comment: &str) -> Vec<usize> {
    let mut numbers = Vec::new();
    const CITATION: &str = "ARCHITECTURE.md invariant";
    for (start, _) in comment.match_indices(CITATION) {
        let rest = comment[start + CITATION.len()..].trim_start_matches('s');
        for word in rest.split_whitespace() {
            let word = word.trim_end_matches([',', ')', ';', ':', '.']);
            if let Ok(number) = word.parse::<usize>() {
                numbers.push(number);
            } else if !matches!(word, "and" | "or") {
                break;
            }
        }
    }
    numbers
}
