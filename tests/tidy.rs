//! The house's rules, checked on the source text (in the spirit of rust-analyzer's tidy test
//! and TigerBeetle's tidy.zig). Each rule says why it exists; a failure names the file, the
//! line and the fix. docs/ARCHITECTURE.md explains the layout these rules keep.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// Every module under src/ (a directory, or a file at the top) and whether it is pure: no IO,
/// no clock, no database, no network, no threads of its own beyond rayon. A new module must
/// be listed here, so its author decides which kind it is.
const MODULES: &[(&str, Kind)] = &[
    ("crypto", Kind::Pure),
    ("entry", Kind::Pure),
    ("shapley", Kind::Pure),
    ("policy", Kind::Pure),
    ("ledger", Kind::Pure),
    ("allocation", Kind::Pure),
    ("audit", Kind::Pure),
    ("store", Kind::Io),
    ("service", Kind::Io),
    ("client", Kind::Io),
    ("keyfile", Kind::Io),
    ("api", Kind::Io),
    ("server", Kind::Io),
    ("cli", Kind::Io),
];

/// The layers, lowest first: a module imports only from modules in lower layers, so the
/// module graph has no cycle and data flows one way (DESIGN.md, "Layout").
const LAYERS: &[&[&str]] = &[
    &["crypto"],
    &["entry"],
    &["shapley"],
    &["policy"],
    &["ledger"],
    &["allocation"],
    // The manipulation report recomputes allocations.
    &["audit"],
    &["store"],
    &["service", "client", "keyfile"],
    &["api"],
    &["server"],
    &["cli"],
];

/// Names that mean IO, a clock or threads, which pure modules must not use.
const IMPURE_PATHS: &[&[&str]] = &[
    &["tokio"],
    &["sqlx"],
    &["reqwest"],
    &["std", "fs"],
    &["std", "net"],
    &["Utc", "now"],
    &["Instant", "now"],
    &["SystemTime"],
];

/// Crates confined to one layer: SQL in the store, HTTP serving in the API, HTTP requests
/// in the client.
const CONFINED_CRATES: &[(&str, &[&str])] = &[
    ("sqlx", &["store"]),
    ("axum", &["api"]),
    ("reqwest", &["client"]),
];

/// The longest function allowed in src/, in lines from `fn` to its closing brace. This
/// number only goes down: split a longer function by phase instead of raising it.
const MAX_FUNCTION_LINES: usize = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pure,
    Io,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every .rs file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The module a file of src/ belongs to: its directory, or its own name at the top.
/// `None` for lib.rs and main.rs, which only declare and call.
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root().join("src")).ok()?;
    let mut parts = relative.components();
    let first = parts.next()?.as_os_str().to_str()?.to_owned();
    if parts.next().is_some() {
        return Some(first);
    }
    match first.strip_suffix(".rs")? {
        "lib" | "main" => None,
        name => Some(name.to_owned()),
    }
}

struct SourceFile {
    path: PathBuf,
    module: String,
    text: String,
}

fn src_files() -> Vec<SourceFile> {
    rust_files(&root().join("src"))
        .into_iter()
        .filter_map(|path| {
            let module = module_of(&path)?;
            let text = std::fs::read_to_string(&path).expect("readable source");
            Some(SourceFile { path, module, text })
        })
        .collect()
}

fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every path the file names: `use` trees flattened, and each run of `a::b::c` in the code
/// (macro bodies included), with the line it starts on. Comments are not tokens, so they
/// never count.
fn paths_in(text: &str) -> Vec<(Vec<String>, usize)> {
    let tokens: TokenStream = text.parse().expect("the source tokenizes");
    let mut paths = Vec::new();
    collect_paths(tokens, &mut paths);
    paths
}

fn collect_paths(tokens: TokenStream, paths: &mut Vec<(Vec<String>, usize)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(group) => collect_paths(group.stream(), paths),
            TokenTree::Ident(ident) => {
                let line = ident.span().start().line;
                let mut path = vec![ident.to_string()];
                let mut j = i + 1;
                // ident (:: ident)* ; a `{` after `::` opens a use group: each member
                // extends the prefix.
                while is_path_sep(&tokens, j) {
                    match tokens.get(j + 2) {
                        Some(TokenTree::Ident(next)) => {
                            path.push(next.to_string());
                            j += 3;
                        }
                        Some(TokenTree::Group(group)) => {
                            for member in use_group_members(group.stream()) {
                                let mut full = path.clone();
                                full.extend(member);
                                paths.push((full, line));
                            }
                            j += 3;
                            break;
                        }
                        _ => break,
                    }
                }
                paths.push((path, line));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

fn is_path_sep(tokens: &[TokenTree], at: usize) -> bool {
    matches!((tokens.get(at), tokens.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':')
}

/// The members of a `use a::{b, c::d, e::{f, g}}` group as relative paths.
fn use_group_members(tokens: TokenStream) -> Vec<Vec<String>> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut members = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(ident) => current.push(ident.to_string()),
            TokenTree::Group(group) => {
                for inner in use_group_members(group.stream()) {
                    let mut full = current.clone();
                    full.extend(inner);
                    members.push(full);
                }
                current.clear();
            }
            TokenTree::Punct(p) if p.as_char() == ',' && !current.is_empty() => {
                members.push(std::mem::take(&mut current));
            }
            _ => {}
        }
        i += 1;
    }
    if !current.is_empty() {
        members.push(current);
    }
    members
}

fn contains_run(path: &[String], run: &[&str]) -> bool {
    path.windows(run.len())
        .any(|window| window.iter().zip(run).all(|(a, b)| a == b))
}

fn kind_of(module: &str) -> Kind {
    MODULES
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, kind)| *kind)
        .unwrap_or_else(|| {
            panic!(
                "src/{module} is not listed in tests/tidy.rs MODULES: say whether it is pure or IO"
            )
        })
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("src/{module} is not in tests/tidy.rs LAYERS"))
}

/// Violations of every rule over `files`; empty when the house is tidy.
fn violations(files: &[SourceFile]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let kind = kind_of(&file.module);
        let layer = layer_of(&file.module);
        let here = display(&file.path);
        for (path, line) in paths_in(&file.text) {
            if kind == Kind::Pure {
                for impure in IMPURE_PATHS {
                    if contains_run(&path, impure) {
                        found.push(format!(
                            "{here}:{line}: `{}` in a pure module: IO, clocks and threads belong in an IO module (store, service, api, cli)",
                            impure.join("::")
                        ));
                    }
                }
            }
            for (krate, allowed) in CONFINED_CRATES {
                if path.first().map(String::as_str) == Some(*krate)
                    && !allowed.contains(&file.module.as_str())
                {
                    found.push(format!(
                        "{here}:{line}: `{krate}` outside {}: move this code there",
                        allowed.join(", ")
                    ));
                }
            }
            if path.first().map(String::as_str) == Some("crate")
                && let Some(target) = path.get(1)
                && target != &file.module
                && MODULES.iter().any(|(name, _)| name == target)
                && layer_of(target) >= layer
            {
                found.push(format!(
                    "{here}:{line}: {} imports {target}, which is not in a lower layer (tests/tidy.rs LAYERS): the module graph must stay acyclic",
                    file.module
                ));
            }
        }
        found.extend(long_functions(file));
    }
    found.sort();
    found.dedup();
    found
}

/// Functions longer than [`MAX_FUNCTION_LINES`].
fn long_functions(file: &SourceFile) -> Vec<String> {
    let syntax =
        syn::parse_file(&file.text).unwrap_or_else(|e| panic!("{}: {e}", display(&file.path)));
    let mut lengths = FunctionLengths::default();
    lengths.visit_file(&syntax);
    lengths
        .functions
        .into_iter()
        .filter(|(_, _, lines)| *lines > MAX_FUNCTION_LINES)
        .map(|(name, line, lines)| {
            format!(
                "{}:{line}: fn {name} has {lines} lines (at most {MAX_FUNCTION_LINES}): split it by phase",
                display(&file.path)
            )
        })
        .collect()
}

#[derive(Default)]
struct FunctionLengths {
    /// (name, first line, lines)
    functions: Vec<(String, usize, usize)>,
}

impl FunctionLengths {
    fn record(&mut self, signature: &syn::Signature, body: &syn::Block) {
        let start = signature.fn_token.span.start().line;
        let end = body.brace_token.span.close().end().line;
        self.functions
            .push((signature.ident.to_string(), start, end + 1 - start));
    }
}

impl<'ast> Visit<'ast> for FunctionLengths {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.record(&item.sig, &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.record(&item.sig, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.record(&item.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, item);
    }
}

#[test]
fn every_module_keeps_its_kind_its_layer_and_its_crates() {
    let files = src_files();
    let modules: BTreeSet<&str> = files.iter().map(|f| f.module.as_str()).collect();
    for module in &modules {
        kind_of(module);
        layer_of(module);
    }
    for (listed, _) in MODULES {
        assert!(
            modules.contains(listed),
            "tests/tidy.rs lists src/{listed}, which no longer exists: remove it"
        );
    }
    let found = violations(&files);
    assert!(
        found.is_empty(),
        "the house's rules are broken:\n{}",
        found.join("\n")
    );
}

/// Repository paths cited in prose and in code comments, such as `src/store/append.rs` or
/// `tests/vectors/`.
fn cited_paths(text: &str) -> Vec<String> {
    const ROOTS: &[&str] = &[
        "src/",
        "tests/",
        "docs/",
        "benches/",
        "examples/",
        "policies/",
        "migrations/",
        "clients/",
        ".ci/",
    ];
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    let mut cited = Vec::new();
    for (start, _) in text.char_indices() {
        let rest = &text[start..];
        let before = text[..start].chars().next_back();
        // A citation starts at a root, not inside a longer word or path (`foo/src/`).
        if before.is_some_and(|c| is_path_char(c) || c == '$')
            || !ROOTS.iter().any(|root| rest.starts_with(root))
        {
            continue;
        }
        let end = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
        let candidate = rest[..end].trim_end_matches(['.', '-']);
        // Placeholders and patterns (`tests/vectors/<kind>/`, `*.json`) are not paths.
        let next = rest[end..].chars().next();
        if next.is_some_and(|c| "<*{".contains(c)) {
            continue;
        }
        cited.push(candidate.to_owned());
    }
    cited
}

#[test]
fn every_cited_repository_path_exists() {
    let mut sources: Vec<PathBuf> = vec![root().join("README.md")];
    for dir in ["docs", "benches", "examples"] {
        let mut pending = vec![root().join(dir)];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("readable directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| ["md", "rs", "py", "sh", "toml"].iter().any(|x| e == *x))
                {
                    sources.push(path);
                }
            }
        }
    }
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for source in &sources {
        let text = std::fs::read_to_string(source).expect("readable");
        for cited in cited_paths(&text) {
            if !root().join(&cited).exists() {
                missing.entry(cited).or_default().push(display(source));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "paths cited but not in the repository (fix the text or the path):\n{}",
        missing
            .iter()
            .map(|(path, sources)| format!("{path}  (in {})", sources.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Each rule catches a deliberately broken copy of the code it guards.
mod the_rules_bite {
    use super::*;

    fn file(module: &str, text: &str) -> SourceFile {
        SourceFile {
            path: root().join("src").join(module).join("broken.rs"),
            module: module.to_owned(),
            text: text.to_owned(),
        }
    }

    fn caught(module: &str, text: &str, expected: &str) {
        let found = violations(&[file(module, text)]);
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "expected a violation containing {expected:?}, found {found:?}"
        );
    }

    #[test]
    fn io_in_a_pure_module() {
        caught(
            "policy",
            "fn f() { let _ = std::fs::read(\"x\"); }",
            "`std::fs` in a pure module",
        );
        caught("ledger", "use std::{fs, io};", "`std::fs` in a pure module");
        caught(
            "entry",
            "fn f() { chrono::Utc::now(); }",
            "`Utc::now` in a pure module",
        );
        caught(
            "shapley",
            "fn f() { std::time::Instant::now(); }",
            "`Instant::now`",
        );
        caught(
            "allocation",
            "fn f() { tokio::spawn(async {}); }",
            "`tokio` in a pure module",
        );
        caught("audit", "use std::time::SystemTime;", "`SystemTime`");
        caught("crypto", "use std::net::TcpStream;", "`std::net`");
        // A comment saying so is not a use.
        assert!(violations(&[file("policy", "// std::fs::read\nfn f() {}")]).is_empty());
    }

    #[test]
    fn a_crate_outside_its_layer() {
        caught(
            "api",
            "fn f() { sqlx::query(\"SELECT 1\"); }",
            "`sqlx` outside store",
        );
        caught("service", "use axum::Router;", "`axum` outside api");
        caught(
            "store",
            "fn f() { let _ = reqwest::Client::new(); }",
            "`reqwest` outside",
        );
    }

    #[test]
    fn an_import_from_a_higher_layer() {
        caught("ledger", "use crate::store::Store;", "ledger imports store");
        caught(
            "entry",
            "fn f() { crate::policy::Policy::parse(b\"\"); }",
            "entry imports policy",
        );
        assert!(violations(&[file("store", "use crate::ledger::batch::Plan;")]).is_empty());
    }

    #[test]
    fn a_long_function() {
        let body = "    let _ = 1;\n".repeat(MAX_FUNCTION_LINES);
        caught(
            "policy",
            &format!("fn long() {{\n{body}}}\n"),
            "fn long has",
        );
        let body = "    let _ = 1;\n".repeat(MAX_FUNCTION_LINES - 2);
        assert!(violations(&[file("policy", &format!("fn fits() {{\n{body}}}\n"))]).is_empty());
    }

    #[test]
    fn a_cited_path() {
        assert_eq!(
            cited_paths("see `src/store/append.rs`, tests/vectors/<kind>/ and ../src/x"),
            vec!["src/store/append.rs"]
        );
        assert_eq!(cited_paths("docs/PROTOCOL.md."), vec!["docs/PROTOCOL.md"]);
    }
}
