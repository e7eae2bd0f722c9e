//! What a container engine would do with the Dockerfile, without one: the instructions
//! (the subset the project uses, continuation lines and comments as Docker reads them), the
//! build context as `.dockerignore` leaves it (Docker's pattern rules: `*`, `?`, `**`, `!`
//! exceptions, a pattern that matches a folder excludes what is in it), and the files each
//! build stage's COPY instructions put where. tests/api/deploy.rs checks them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One instruction, its continuation lines joined, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: String,
    pub arguments: String,
    pub line: usize,
}

/// A `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub base: String,
    pub name: Option<String>,
    pub instructions: Vec<Instruction>,
}

/// A COPY (or ADD): from the build context, or from an earlier stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub from: Option<String>,
    pub sources: Vec<String>,
    /// Absolute: a relative destination is resolved against the WORKDIR in force.
    pub destination: String,
    pub line: usize,
}

pub fn parse(text: &str) -> Result<Vec<Stage>, String> {
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions(text) {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.arguments.split_whitespace().collect();
            let (base, name) = match words.as_slice() {
                [base] => (base.to_string(), None),
                [base, r#as, name] if r#as.eq_ignore_ascii_case("as") => {
                    (base.to_string(), Some(name.to_string()))
                }
                _ => return Err(format!("line {}: FROM {:?}", instruction.line, words)),
            };
            stages.push(Stage {
                base,
                name,
                instructions: Vec::new(),
            });
        } else {
            let stage = stages.last_mut().ok_or_else(|| {
                format!(
                    "line {}: {} before FROM",
                    instruction.line, instruction.keyword
                )
            })?;
            stage.instructions.push(instruction);
        }
    }
    Ok(stages)
}

/// Instructions with continuation lines joined; comment lines (also inside a continuation)
/// and blank lines dropped.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut found = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_none()) {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((number + 1, String::new()));
        let (content, continues) = match trimmed.strip_suffix('\\') {
            Some(content) => (content.trim_end(), true),
            None => (trimmed, false),
        };
        if !joined.is_empty() && !content.is_empty() {
            joined.push(' ');
        }
        joined.push_str(content);
        if continues {
            pending = Some((start, joined));
            continue;
        }
        let (keyword, arguments) = joined
            .split_once(char::is_whitespace)
            .unwrap_or((&joined, ""));
        found.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            arguments: arguments.trim().to_owned(),
            line: start,
        });
    }
    found
}

impl Stage {
    pub fn all(&self, keyword: &str) -> impl Iterator<Item = &Instruction> {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
    }

    pub fn last(&self, keyword: &str) -> Option<&Instruction> {
        self.all(keyword).last()
    }

    /// The WORKDIR in force before instruction `index` ("/" before any).
    fn workdir_before(&self, index: usize) -> String {
        let mut workdir = "/".to_owned();
        for instruction in &self.instructions[..index] {
            if instruction.keyword == "WORKDIR" {
                workdir = absolute(&workdir, &instruction.arguments);
            }
        }
        workdir
    }

    /// The WORKDIR in force at the instruction `instruction` points to.
    pub fn workdir_at(&self, instruction: &Instruction) -> String {
        let index = self
            .instructions
            .iter()
            .position(|i| std::ptr::eq(i, instruction))
            .unwrap_or(self.instructions.len());
        self.workdir_before(index)
    }

    pub fn copies(&self) -> Result<Vec<Copy>, String> {
        let mut copies = Vec::new();
        for (index, instruction) in self.instructions.iter().enumerate() {
            if instruction.keyword != "COPY" && instruction.keyword != "ADD" {
                continue;
            }
            let mut from = None;
            let mut paths = Vec::new();
            for word in instruction.arguments.split_whitespace() {
                if let Some(flag) = word.strip_prefix("--") {
                    if let Some(stage) = flag.strip_prefix("from=") {
                        from = Some(stage.to_owned());
                    }
                } else {
                    paths.push(word.to_owned());
                }
            }
            let destination = paths.pop().filter(|_| !paths.is_empty()).ok_or_else(|| {
                format!(
                    "line {}: COPY needs sources and a destination",
                    instruction.line
                )
            })?;
            // A destination ending in '/' is a folder (`absolute` keeps the '/'); so are `.`
            // and the destination of several sources.
            let folder = paths.len() > 1 || destination == "." || destination.ends_with("/.");
            let mut destination = absolute(&self.workdir_before(index), &destination);
            if folder && !destination.ends_with('/') {
                destination.push('/');
            }
            copies.push(Copy {
                from,
                sources: paths,
                destination,
                line: instruction.line,
            });
        }
        Ok(copies)
    }

    /// `ENV` variables in force at the end of the stage, in order of appearance.
    pub fn env(&self) -> Result<BTreeMap<String, String>, String> {
        let mut env = BTreeMap::new();
        for instruction in self.all("ENV") {
            let arguments = instruction.arguments.as_str();
            if !arguments.contains('=') {
                // The legacy form: `ENV NAME value with spaces`.
                let (name, value) = arguments.split_once(' ').unwrap_or((arguments, ""));
                env.insert(name.to_owned(), value.trim().to_owned());
                continue;
            }
            for pair in arguments.split_whitespace() {
                let (name, value) = pair.split_once('=').ok_or_else(|| {
                    format!("line {}: ENV {pair:?} is not NAME=value", instruction.line)
                })?;
                env.insert(name.to_owned(), value.trim_matches('"').to_owned());
            }
        }
        Ok(env)
    }

    /// The shell commands of the stage's RUN instructions, split at `&&` and `;`.
    pub fn run_commands(&self) -> Vec<Vec<String>> {
        self.all("RUN")
            .flat_map(|run| {
                run.arguments
                    .split("&&")
                    .flat_map(|part| part.split(';'))
                    .map(|command| command.split_whitespace().map(str::to_owned).collect())
                    .filter(|words: &Vec<String>| !words.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// A JSON-array (exec form) argument: `["fairshare", "serve"]`.
pub fn exec_form(instruction: &Instruction) -> Result<Vec<String>, String> {
    serde_json::from_str(&instruction.arguments)
        .map_err(|e| format!("line {}: not an exec-form array: {e}", instruction.line))
}

/// `path` against `base`, normalised (`.` and `..` resolved); a trailing '/' is kept.
pub fn absolute(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{}/{path}", base.trim_end_matches('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut normal = format!("/{}", parts.join("/"));
    if path.ends_with('/') && normal != "/" {
        normal.push('/');
    }
    normal
}

/// `.dockerignore`, as Docker reads it: one pattern a line, `#` comments, `!` for an
/// exception; the last pattern that matches a path decides.
#[derive(Debug, Clone)]
pub struct Ignore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if pattern.contains(['[', '\\']) {
                return Err(format!(
                    ".dockerignore pattern {pattern:?}: character classes and escapes are not modelled here"
                ));
            }
            let cleaned = absolute("/", pattern);
            let segments = cleaned
                .trim_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            patterns.push((exception, segments));
        }
        Ok(Self { patterns })
    }

    /// Whether `path` (relative to the context, '/'-separated) is left out of the context:
    /// a pattern matches a path or any folder above it.
    pub fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for (exception, pattern) in &self.patterns {
            let matched = (1..=segments.len()).any(|n| glob(pattern, &segments[..n]));
            if matched {
                excluded = !exception;
            }
        }
        excluded
    }

    /// Whether some exception could bring back a path under `folder`: then an excluded folder
    /// must still be walked.
    fn may_include_below(&self, folder: &str) -> bool {
        self.patterns.iter().any(|(exception, pattern)| {
            *exception && {
                let prefix = pattern.join("/");
                prefix.starts_with(folder) || prefix.contains('*') || prefix.contains('?')
            }
        })
    }
}

/// Docker's path match, segment by segment: `**` is any number of segments, `*` any run of
/// characters within one, `?` one character.
pub fn glob(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| glob(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                segment_matches(first.as_bytes(), segment.as_bytes()) && glob(rest, path_rest)
            }
            None => false,
        },
    }
}

fn segment_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| segment_matches(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && segment_matches(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && segment_matches(rest, &text[1..]),
    }
}

/// Every file of the context at `root` that `.dockerignore` leaves in, relative and
/// '/'-separated; excluded folders are not walked unless an exception may reach below.
pub fn context_files(root: &Path, ignore: &Ignore) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    let mut pending = vec![String::new()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(root.join(&folder))
            .unwrap_or_else(|e| panic!("{}: {e}", root.join(&folder).display()));
        for entry in entries {
            let entry = entry.expect("a folder entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = if folder.is_empty() {
                name
            } else {
                format!("{folder}/{name}")
            };
            let kind = entry.file_type().expect("a file type");
            if kind.is_dir() {
                if !ignore.excludes(&relative) || ignore.may_include_below(&relative) {
                    pending.push(relative);
                }
            } else if !ignore.excludes(&relative) {
                files.insert(relative);
            }
        }
    }
    files
}

/// The files the COPY instructions (from the context) of `stage` place, by absolute path in
/// the image, each with the context file it comes from. A source that matches nothing is
/// an error, as it is for Docker.
pub fn placed_files(
    stage: &Stage,
    context: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut placed = BTreeMap::new();
    for copy in stage.copies()?.iter().filter(|c| c.from.is_none()) {
        for source in &copy.sources {
            let pattern: Vec<String> = absolute("/", source)
                .trim_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let mut matched = false;
            for file in context {
                let segments: Vec<&str> = file.split('/').collect();
                // The source names the file itself, or a folder above it (`.`: the context).
                let Some(depth) = (0..=segments.len()).find(|n| glob(&pattern, &segments[..*n]))
                else {
                    continue;
                };
                matched = true;
                let target = if depth < segments.len() {
                    // A folder: its contents go into the destination.
                    format!(
                        "{}/{}",
                        copy.destination.trim_end_matches('/'),
                        segments[depth..].join("/")
                    )
                } else if copy.destination.ends_with('/') {
                    format!("{}{}", copy.destination, segments[depth - 1])
                } else {
                    copy.destination.clone()
                };
                placed.insert(target, file.clone());
            }
            if !matched {
                return Err(format!(
                    "line {}: COPY source {source:?} is not in the build context (missing, or left out by .dockerignore)",
                    copy.line
                ));
            }
        }
    }
    Ok(placed)
}

/// The files of `placed` under `folder` (absolute), relative to it.
pub fn under(placed: &BTreeMap<String, String>, folder: &str) -> BTreeMap<String, String> {
    let prefix = format!("{}/", folder.trim_end_matches('/'));
    placed
        .iter()
        .filter_map(|(target, source)| {
            Some((target.strip_prefix(&prefix)?.to_owned(), source.clone()))
        })
        .collect()
}

/// Makes `dir` hold exactly `files` (relative path → source under `root`), copying only
/// what changed and keeping each source's modification time, so that cargo sees an
/// unchanged tree as unchanged and checks it again in a second.
pub fn sync_tree(dir: &Path, root: &Path, files: &BTreeMap<String, String>) {
    std::fs::create_dir_all(dir).expect("layout folder");
    for existing in walk(dir) {
        if !files.contains_key(&existing) {
            std::fs::remove_file(dir.join(&existing)).expect("remove a stale file");
        }
    }
    for (relative, source) in files {
        let (from, to) = (root.join(source), dir.join(relative));
        let content = std::fs::read(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        if std::fs::read(&to).ok().as_deref() != Some(content.as_slice()) {
            std::fs::create_dir_all(to.parent().expect("a parent")).expect("folder");
            std::fs::write(&to, &content).expect("write");
        }
        let modified = std::fs::metadata(&from)
            .and_then(|m| m.modified())
            .expect("a modification time");
        std::fs::File::options()
            .write(true)
            .open(&to)
            .and_then(|f| f.set_modified(modified))
            .expect("set the modification time");
    }
}

/// Every file under `dir`, relative and '/'-separated.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let relative = folder.join(entry.file_name());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(relative);
            } else {
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "# a comment\nFROM rust:1 AS build\nWORKDIR /src\nCOPY a b ./\nRUN apt-get update \\\n    # inside\n    && apt-get install -y curl\nCOPY src src\n\nFROM debian\nENV A=1 B=\"two\"\nENV LEGACY some value\nCOPY --from=build /src/target/x /usr/local/bin/x\nWORKDIR data\nCOPY one .\n";

    #[test]
    fn instructions_stages_and_copies() {
        let stages = parse(SAMPLE).expect("parses");
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].name.as_deref(), Some("build"));
        let copies = stages[0].copies().expect("copies");
        assert_eq!(copies[0].sources, ["a", "b"]);
        assert_eq!(copies[0].destination, "/src/");
        assert_eq!(copies[1].destination, "/src/src");
        assert_eq!(
            stages[0].run_commands(),
            vec![
                vec!["apt-get".to_owned(), "update".into()],
                vec![
                    "apt-get".into(),
                    "install".into(),
                    "-y".into(),
                    "curl".into()
                ]
            ]
        );
        assert_eq!(stages[0].last("RUN").map(|r| r.line), Some(5));
        let env = stages[1].env().expect("env");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "two");
        assert_eq!(env["LEGACY"], "some value");
        let copies = stages[1].copies().expect("copies");
        assert_eq!(copies[0].from.as_deref(), Some("build"));
        assert_eq!(copies[1].destination, "/data/");
    }

    #[test]
    fn copies_place_folders_files_and_globs() {
        let stage =
            &parse("FROM x\nWORKDIR /src\nCOPY Cargo.* ./\nCOPY src src\nCOPY docs/a.md /doc.md\n")
                .expect("parses")[0];
        let context: BTreeSet<String> = [
            "Cargo.toml",
            "Cargo.lock",
            "src/main.rs",
            "src/a/b.rs",
            "docs/a.md",
            "x",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let placed = placed_files(stage, &context).expect("placed");
        let targets: Vec<&str> = placed.keys().map(String::as_str).collect();
        assert_eq!(
            targets,
            [
                "/doc.md",
                "/src/Cargo.lock",
                "/src/Cargo.toml",
                "/src/src/a/b.rs",
                "/src/src/main.rs"
            ]
        );
        let missing = parse("FROM x\nCOPY policies policies\n").expect("parses");
        let error = placed_files(&missing[0], &context).expect_err("no such source");
        assert!(error.contains("\"policies\""), "{error}");
    }

    #[test]
    fn dockerignore_patterns() {
        let ignore =
            Ignore::parse("# c\ntarget\n/.git\n**/*.log\ndocs/*\n!docs/keep.md\n").expect("parses");
        for excluded in [
            "target",
            "target/debug/x",
            ".git/HEAD",
            "a/b/c.log",
            "x.log",
            "docs/a.md",
        ] {
            assert!(ignore.excludes(excluded), "{excluded}");
        }
        for kept in ["src/target.rs", "docs/keep.md", "docs", "log"] {
            assert!(!ignore.excludes(kept), "{kept}");
        }
        assert!(Ignore::parse("[ab]").is_err());
    }

    proptest! {
        /// A literal pattern leaves out the path it names and all below it, and nothing
        /// beside it; an exception for a deeper path brings exactly that back.
        #[test]
        fn a_literal_pattern_excludes_its_subtree(
            named in prop::collection::vec("[a-z]{1,4}", 1..4),
            below in prop::collection::vec("[a-z]{1,4}", 0..3),
            other in "[a-z]{5,6}",
        ) {
            let path = named.join("/");
            let ignore = Ignore::parse(&path).expect("parses");
            let mut inside = named.clone();
            inside.extend(below.iter().cloned());
            prop_assert!(ignore.excludes(&inside.join("/")));
            let mut beside = named.clone();
            *beside.last_mut().expect("a segment") = other.clone();
            prop_assert!(!ignore.excludes(&beside.join("/")));
            let kept = format!("{path}/{other}");
            let with_exception = Ignore::parse(&format!("{path}\n!{kept}")).expect("parses");
            prop_assert!(!with_exception.excludes(&kept));
            let sibling = format!("{path}/{other}x");
            prop_assert!(with_exception.excludes(&sibling));
        }

        /// `*` stays within one segment; `**` crosses any number of them.
        #[test]
        fn stars_and_double_stars(segments in prop::collection::vec("[a-z]{1,4}", 2..5)) {
            let path: Vec<&str> = segments.iter().map(String::as_str).collect();
            let star = vec!["*".to_owned()];
            prop_assert!(!glob(&star, &path));
            prop_assert!(glob(&vec!["*".to_owned(); path.len()], &path));
            let deep = vec!["**".to_owned(), path[path.len() - 1].to_owned()];
            prop_assert!(glob(&deep, &path));
        }
    }
}
