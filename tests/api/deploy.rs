//! The container image and docker-compose.yml, checked without a container engine: the
//! build context the Dockerfile copies (honouring .dockerignore) compiles on its own and
//! holds every file the build reads; every variable they set is read by the command it is
//! set for; the health check asks a route of the API on the port the server listens on;
//! the data folder is the compose volume and the image's user owns it; and the compose
//! services run real subcommands with their required settings given.

use crate::docker::{self, Ignore, Stage};
use crate::helpers::spawn_public_app;
use clap::CommandFactory;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Dockerfile's build stage as it was before policies/ was copied (a file the build
/// reads but the image lacked: `docker build` failed at compile time).
const BUILD_WITHOUT_POLICIES: &str = "FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY benches benches
COPY examples examples
RUN cargo build --release --locked --bin fairshare
";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The workspace's target folder (tests get target/tmp).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp is in the target folder")
        .to_path_buf()
}

fn stages() -> Vec<Stage> {
    docker::parse(&read("Dockerfile")).unwrap_or_else(|e| panic!("Dockerfile: {e}"))
}

/// The final stage: what the image runs.
fn image() -> Stage {
    stages().pop().expect("a stage")
}

/// The stage that runs `cargo build`, the command's words and the folder it runs in.
fn build_stage(stages: &[Stage]) -> Result<(Stage, Vec<String>, String), String> {
    for stage in stages {
        for run in stage.all("RUN") {
            let words: Vec<String> = run
                .arguments
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if words.first().map(String::as_str) == Some("cargo")
                && words.get(1).map(String::as_str) == Some("build")
            {
                return Ok((stage.clone(), words, stage.workdir_at(run)));
            }
        }
    }
    Err("no stage runs `cargo build`".into())
}

/// The value of `--flag VALUE` (or `--flag=VALUE`) among `words`.
fn flag(words: &[String], name: &str) -> Option<String> {
    words.iter().enumerate().find_map(|(i, word)| {
        if word == name {
            words.get(i + 1).cloned()
        } else {
            word.strip_prefix(&format!("{name}=")).map(str::to_owned)
        }
    })
}

/// The files `cargo build` sees in its folder (relative path → context file), from a
/// Dockerfile's text and .dockerignore's.
fn build_tree(dockerfile: &str, dockerignore: &str) -> Result<BTreeMap<String, String>, String> {
    let stages = docker::parse(dockerfile)?;
    let (stage, _, workdir) = build_stage(&stages)?;
    let context = docker::context_files(&root(), &Ignore::parse(dockerignore)?);
    let placed = docker::placed_files(&stage, &context)?;
    Ok(docker::under(&placed, &workdir))
}

/// Files the manifest itself requires: Cargo.toml and Cargo.lock, and the file of every
/// target it declares (cargo refuses to read a manifest whose declared target is missing,
/// whatever is being built).
fn required_by_manifest() -> BTreeSet<String> {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let mut required: BTreeSet<String> = ["Cargo.toml", "Cargo.lock"].map(str::to_owned).into();
    let lib = manifest
        .get("lib")
        .and_then(|l| l.get("path"))
        .and_then(|p| p.as_str());
    required.insert(lib.unwrap_or("src/lib.rs").to_owned());
    for (kind, folder) in [
        ("bin", "src/bin"),
        ("bench", "benches"),
        ("test", "tests"),
        ("example", "examples"),
    ] {
        let targets = manifest.get(kind).and_then(|t| t.as_array());
        for target in targets.into_iter().flatten() {
            let path = target
                .get("path")
                .and_then(|p| p.as_str())
                .map(str::to_owned);
            let name = target
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default();
            required.insert(path.unwrap_or_else(|| format!("{folder}/{name}.rs")));
        }
    }
    required
}

/// `cargo check --locked --bin BIN` in `dir`, in its own target folder that persists (only
/// the first run compiles the dependencies); the files under `dir` the compiler read, from
/// its dep-info.
fn cargo_check(dir: &Path, bin: &str) -> Result<BTreeSet<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "check",
            "--locked",
            "--offline",
            "--message-format=json",
            "--bin",
            bin,
        ])
        .arg("--target-dir")
        .arg(target_dir().join("docker-context-check"))
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let messages: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    if !output.status.success() {
        let rendered: Vec<&str> = messages
            .iter()
            .filter_map(|m| m["message"]["rendered"].as_str())
            .collect();
        return Err(format!(
            "{}{}",
            rendered.join(""),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let dir = dir.canonicalize().map_err(|e| e.to_string())?;
    let mut read = BTreeSet::new();
    for message in &messages {
        let ours = message["manifest_path"]
            .as_str()
            .is_some_and(|m| Path::new(m).starts_with(&dir));
        if message["reason"] != "compiler-artifact" || !ours {
            continue;
        }
        for artifact in message["filenames"].as_array().into_iter().flatten() {
            let artifact = PathBuf::from(artifact.as_str().unwrap_or_default());
            read.extend(dep_info(&artifact, &dir)?);
        }
    }
    Ok(read)
}

/// The files of the package in `dir` that the dep-info beside `artifact`
/// (`libNAME-HASH.rmeta` → `NAME-HASH.d`) lists: every one gets a line `PATH:` of its own.
fn dep_info(artifact: &Path, dir: &Path) -> Result<BTreeSet<String>, String> {
    let name = artifact
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("lib"))
        .and_then(|n| n.split_once('.'))
        .map(|(stem, _)| format!("{stem}.d"))
        .ok_or_else(|| format!("{}: not a library artifact", artifact.display()))?;
    let path = artifact.with_file_name(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_suffix(':'))
        .map(|file| file.replace("\\ ", " "))
        .filter_map(|file| {
            // The package's own files are relative to it, keeping an `include_str!`'s `..`
            // (src/cli/../../policies/x.toml); those a macro reads are absolute.
            let file = Path::new(&file);
            let relative = if file.is_absolute() {
                file.strip_prefix(dir).ok()?
            } else {
                file
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            Some(
                docker::absolute("/", &relative)
                    .trim_start_matches('/')
                    .to_owned(),
            )
        })
        .collect())
}

/// What the build needs from the context: the files the compiler read when the Dockerfile's
/// own build tree was checked (once per test run), and what the manifest requires.
fn needed_by_the_build() -> &'static BTreeSet<String> {
    static NEEDED: OnceLock<BTreeSet<String>> = OnceLock::new();
    NEEDED.get_or_init(|| {
        let stages = stages();
        let (_, cargo, _) = build_stage(&stages).unwrap_or_else(|e| panic!("Dockerfile: {e}"));
        let bin = flag(&cargo, "--bin").expect("the Dockerfile builds one binary (--bin)");
        let tree = build_tree(&read("Dockerfile"), &read(".dockerignore"))
            .unwrap_or_else(|e| panic!("Dockerfile: {e}"));
        let dir = target_dir().join("docker-context");
        docker::sync_tree(&dir, &root(), &tree);
        let mut needed = cargo_check(&dir, &bin).unwrap_or_else(|e| {
            panic!("cargo check of the Dockerfile's build context fails:\n{e}")
        });
        needed.extend(required_by_manifest());
        needed
    })
}

fn missing(tree: &BTreeMap<String, String>) -> Vec<String> {
    needed_by_the_build()
        .iter()
        .filter(|file| !tree.contains_key(*file))
        .cloned()
        .collect()
}

#[test]
fn the_build_context_compiles_alone_and_holds_what_the_build_reads() {
    let stages = stages();
    let (_, cargo, workdir) = build_stage(&stages).expect("a build stage");
    assert!(
        cargo.contains(&"--locked".to_owned()),
        "{cargo:?}: build with --locked"
    );
    let tree = build_tree(&read("Dockerfile"), &read(".dockerignore")).expect("laid out");
    assert_eq!(missing(&tree), Vec::<String>::new());
    // Neither examples nor tests are built into the image: no need to copy them.
    assert!(
        !tree
            .keys()
            .any(|f| f.starts_with("examples/") || f.starts_with("tests/")),
        "the build stage copies files the binary does not need"
    );

    // The final stage takes the binary from where that build leaves it, and runs it.
    let image = image();
    let profile = if cargo.contains(&"--release".to_owned()) {
        "release"
    } else {
        "debug"
    };
    let bin = flag(&cargo, "--bin").expect("--bin");
    let copied = image.copies().expect("copies");
    let binary = copied
        .iter()
        .find(|c| c.from.is_some())
        .expect("the image copies the binary from the build stage");
    assert_eq!(
        binary.sources,
        [format!(
            "{}/target/{profile}/{bin}",
            workdir.trim_end_matches('/')
        )]
    );
    let entrypoint =
        docker::exec_form(image.last("ENTRYPOINT").expect("ENTRYPOINT")).expect("exec form");
    assert_eq!(
        binary.destination,
        format!("/usr/local/bin/{}", entrypoint[0])
    );
}

#[test]
fn a_dockerfile_that_lacks_a_file_the_build_reads_fails_the_check() {
    let tree = build_tree(BUILD_WITHOUT_POLICIES, &read(".dockerignore")).expect("laid out");
    let lacking = missing(&tree);
    assert!(
        !lacking.is_empty(),
        "the check passes a build without policies/"
    );
    assert!(
        lacking.iter().all(|f| f.starts_with("policies/")),
        "{lacking:?}"
    );

    // The benches are not built, but Cargo.toml names them: cargo needs their files.
    let without_benches: String = read("Dockerfile")
        .lines()
        .filter(|line| !line.starts_with("COPY benches"))
        .map(|line| format!("{line}\n"))
        .collect();
    let tree = build_tree(&without_benches, &read(".dockerignore")).expect("laid out");
    assert!(missing(&tree).contains(&"benches/verify.rs".to_owned()));

    // A source that .dockerignore leaves out is not in the context.
    let error = build_tree(
        &read("Dockerfile"),
        &format!("{}\npolicies\n", read(".dockerignore")),
    )
    .expect_err("policies/ left out");
    assert!(error.contains("\"policies\""), "{error}");
}

/// The subcommand `path` of the command line (`["db", "migrate"]`).
fn subcommand(path: &[String]) -> Option<clap::Command> {
    let mut command = fairshare::cli::Cli::command();
    for name in path {
        command = command.find_subcommand(name)?.clone();
    }
    Some(command)
}

/// The longest prefix of `words` that names a subcommand, and that subcommand.
fn resolve(words: &[String]) -> (usize, clap::Command) {
    let mut command = fairshare::cli::Cli::command();
    let mut depth = 0;
    while let Some(next) = words.get(depth).and_then(|w| command.find_subcommand(w)) {
        command = next.clone();
        depth += 1;
    }
    (depth, command)
}

fn envs_of(command: &clap::Command) -> BTreeSet<String> {
    command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect()
}

/// Every variable a subcommand reads through clap.
fn every_clap_env() -> BTreeSet<String> {
    fn walk(command: &clap::Command, found: &mut BTreeSet<String>) {
        found.extend(envs_of(command));
        for sub in command.get_subcommands() {
            walk(sub, found);
        }
    }
    let mut found = BTreeSet::new();
    walk(&fairshare::cli::Cli::command(), &mut found);
    found
}

/// Variables the code reads outside clap: the literal names passed to `var`, `var_os`,
/// `from_env` and `try_from_env` in src/.
fn read_by_the_code() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![root().join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for call in ["var(\"", "var_os(\"", "from_env(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    if let Some(end) = rest.find('"') {
                        found.insert(rest[..end].to_owned());
                    }
                }
            }
        }
    }
    found
}

/// mimalloc's options (`MIMALLOC_<OPTION>`, legacy names too), from the C source that
/// libmimalloc-sys compiles: the allocator reads them at start.
fn mimalloc_options() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let manifest = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "libmimalloc-sys")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("libmimalloc-sys among the dependencies");
    let sources = Path::new(manifest)
        .parent()
        .expect("a folder")
        .join("c_src/mimalloc");
    let mut options = BTreeSet::new();
    for version in std::fs::read_dir(&sources)
        .expect("mimalloc sources")
        .flatten()
    {
        let text =
            std::fs::read_to_string(version.path().join("src/options.c")).unwrap_or_default();
        for (at, _) in text.match_indices("MI_OPTION") {
            let rest = &text[at..];
            let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
                continue;
            };
            if open > "MI_OPTION_LEGACY".len() || close < open {
                continue;
            }
            for name in rest[open + 1..close].split(',') {
                let name = name.trim();
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && name != "opt"
                    && name != "legacy"
                {
                    options.insert(format!("MIMALLOC_{}", name.to_ascii_uppercase()));
                }
            }
        }
    }
    options
}

/// The variables among `set` that nothing of `command` reads: not its arguments' (clap
/// `env`), not the code's own (`read_by_code`), not the allocator's.
fn unread(
    set: &BTreeSet<String>,
    read_by_command: &BTreeSet<String>,
    read_by_code: &BTreeSet<String>,
    allocator: &BTreeSet<String>,
) -> Vec<String> {
    set.iter()
        .filter(|name| {
            !read_by_command.contains(*name)
                && !read_by_code.contains(*name)
                && !allocator.contains(*name)
        })
        .cloned()
        .collect()
}

/// docker-compose.yml as JSON.
fn compose() -> Value {
    serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

/// The services that run this repository's image.
fn our_services(compose: &Value) -> Vec<(String, Value)> {
    compose["services"]
        .as_object()
        .expect("services")
        .iter()
        .filter(|(_, service)| service["build"] == "." || service["build"]["context"] == ".")
        .map(|(name, service)| (name.clone(), service.clone()))
        .collect()
}

fn service_env(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|item| item.as_str()?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn words(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The command line a service runs: the image's ENTRYPOINT, then the service's `command`
/// or the image's CMD; without the program's name.
fn service_command(service: &Value, image: &Stage) -> Vec<String> {
    let entrypoint =
        docker::exec_form(image.last("ENTRYPOINT").expect("ENTRYPOINT")).expect("exec form");
    let command = match &service["command"] {
        Value::Null => docker::exec_form(image.last("CMD").expect("CMD")).expect("exec form"),
        command => words(command),
    };
    entrypoint.into_iter().skip(1).chain(command).collect()
}

#[test]
fn every_variable_the_image_and_compose_set_is_read() {
    let image = image();
    let (by_code, allocator) = (read_by_the_code(), mimalloc_options());
    assert!(allocator.contains("MIMALLOC_PURGE_DELAY"), "{allocator:?}");
    assert!(by_code.contains("FAIRSHARE_LOG"), "{by_code:?}");
    let image_env: BTreeSet<String> = image.env().expect("ENV").into_keys().collect();
    assert_eq!(
        unread(&image_env, &every_clap_env(), &by_code, &allocator),
        Vec::<String>::new(),
        "the image sets variables that no command reads"
    );
    for (name, service) in our_services(&compose()) {
        let line = service_command(&service, &image);
        let (depth, command) = resolve(&line);
        let set: BTreeSet<String> = service_env(&service).into_keys().collect();
        assert_eq!(
            unread(&set, &envs_of(&command), &by_code, &allocator),
            Vec::<String>::new(),
            "service {name} ({:?}) sets variables its command does not read",
            &line[..depth]
        );
    }
    // A misspelt name is caught.
    let typo: BTreeSet<String> = ["FAIRSHARE_LSTEN".to_owned()].into();
    let serve = subcommand(&["serve".to_owned()]).expect("serve");
    assert_eq!(
        unread(&typo, &envs_of(&serve), &by_code, &allocator),
        ["FAIRSHARE_LSTEN"]
    );
}

#[test]
fn the_compose_services_run_real_subcommands_with_what_they_require() {
    let image = image();
    let image_env = image.env().expect("ENV");
    let services = our_services(&compose());
    let names: BTreeSet<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["fairshare", "migrate"]));
    for (name, service) in &services {
        let line = service_command(service, &image);
        let (depth, command) = resolve(&line);
        assert!(
            depth > 0 && command.get_subcommands().next().is_none(),
            "service {name} runs {line:?}, which is not a subcommand of fairshare"
        );
        let mut env = image_env.clone();
        env.extend(service_env(service));
        for arg in command.get_arguments().filter(|a| a.is_required_set()) {
            let given_flag = arg.get_long().is_some_and(|long| {
                line.iter()
                    .any(|w| w.trim_start_matches("--").starts_with(long))
            });
            let given_env = arg
                .get_env()
                .is_some_and(|e| env.contains_key(e.to_string_lossy().as_ref()));
            assert!(
                given_flag || given_env,
                "service {name}: {:?} needs --{}",
                &line[..depth],
                arg.get_long().unwrap_or_default()
            );
        }
    }
    // The server waits for the one-shot migration, which waits for the database.
    let compose = compose();
    assert_eq!(
        compose["services"]["fairshare"]["depends_on"]["migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        compose["services"]["migrate"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );
}

#[test]
fn the_data_folder_is_the_volume_and_the_image_user_owns_it() {
    let image = image();
    let env = image.env().expect("ENV");
    let data = env
        .get("FAIRSHARE_DATA_DIR")
        .expect("the image sets FAIRSHARE_DATA_DIR");
    let user = image
        .last("USER")
        .expect("the image runs as a user")
        .arguments
        .clone();
    assert_ne!(user, "root");
    let commands = image.run_commands();
    let ran = |program: &str, predicate: &dyn Fn(&[String]) -> bool| {
        commands
            .iter()
            .any(|c| c.first().map(String::as_str) == Some(program) && predicate(c))
    };
    assert!(
        ran("useradd", &|c| c.last() == Some(&user))
            || ran("adduser", &|c| c.last() == Some(&user)),
        "no RUN creates the user {user}"
    );
    assert!(ran("mkdir", &|c| c.contains(data)), "no RUN makes {data}");
    assert!(
        ran("chown", &|c| {
            c.iter()
                .any(|w| w == &user || w.starts_with(&format!("{user}:")))
                && c.contains(data)
        }),
        "{user} does not own {data}"
    );
    // The server's compose service keeps the folder (and the server key in it) in a volume.
    let compose = compose();
    let server = &compose["services"]["fairshare"];
    assert!(
        service_env(server)
            .get("FAIRSHARE_DATA_DIR")
            .is_none_or(|d| d == data),
        "the service moves the data folder off the volume"
    );
    let volumes = words(&server["volumes"]);
    let volume = volumes
        .iter()
        .find_map(|v| v.strip_suffix(&format!(":{data}")))
        .unwrap_or_else(|| panic!("no volume is mounted at {data}: {volumes:?}"));
    assert!(
        compose["volumes"].get(volume).is_some(),
        "{volume} is not a named volume"
    );
    let serve = subcommand(&["serve".to_owned()]).expect("serve");
    assert!(envs_of(&serve).contains("FAIRSHARE_DATA_DIR"));
}

/// The URLs a health check asks.
fn urls(words: &[String]) -> Vec<url::Url> {
    words
        .iter()
        .filter(|w| w.starts_with("http://"))
        .map(|w| url::Url::parse(w).expect("a URL"))
        .collect()
}

#[tokio::test]
async fn the_health_checks_ask_a_route_of_the_api_on_the_port_served() {
    let image = image();
    let healthcheck = image.last("HEALTHCHECK").expect("HEALTHCHECK");
    let (_, command) = healthcheck
        .arguments
        .split_once("CMD ")
        .expect("HEALTHCHECK ... CMD");
    let image_words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    let compose = compose();
    let service = &compose["services"]["fairshare"];
    let compose_words = words(&service["healthcheck"]["test"]);
    let mut env = image.env().expect("ENV");
    let mut checks = vec![(image_words, env.clone())];
    env.extend(service_env(service));
    checks.push((compose_words, env));

    let app = spawn_public_app().await;
    for (words, env) in checks {
        let program = words
            .iter()
            .find(|w| *w != "CMD")
            .expect("a program")
            .clone();
        assert!(
            image
                .run_commands()
                .iter()
                .any(|c| c.starts_with(&["apt-get".into(), "install".into()])
                    && c.contains(&program)),
            "the health check runs {program}, which the image does not install"
        );
        let found = urls(&words);
        assert_eq!(found.len(), 1, "{words:?}");
        let listen: std::net::SocketAddr = env["FAIRSHARE_LISTEN"].parse().expect("an address");
        assert_eq!(
            found[0].port(),
            Some(listen.port()),
            "{words:?} asks another port"
        );
        let (status, body) = app.get(found[0].path()).await;
        assert_eq!(
            (status, &body["status"]),
            (200, &Value::from("ok")),
            "{}",
            found[0]
        );
    }
}
