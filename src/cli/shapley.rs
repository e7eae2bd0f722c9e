//! `fairshare shapley`: solve a game file and print the values.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::cli::CliError;
use crate::shapley::gamefile;
use crate::shapley::rational::{fmt_ratio, to_f64};
use crate::shapley::{Method, Request, SamplingConfig, ShapleyError, Solution, Values, solve};

/// Compute Shapley (or Owen, Banzhaf) values of a game file.
#[derive(clap::Args, Debug)]
pub struct ShapleyArgs {
    /// The game file (JSON).
    #[arg(long)]
    pub game: PathBuf,
    /// Solver.
    #[arg(long, value_enum, default_value = "auto")]
    pub method: Method,
    /// Permutations to sample (the maximum when --target-error is set). With owen or
    /// banzhaf, asks for the sampled estimate.
    #[arg(long, allow_negative_numbers = true)]
    pub samples: Option<u64>,
    /// Stop sampling once every player's interval half-width is at most this (> 0).
    #[arg(long, allow_negative_numbers = true)]
    pub target_error: Option<f64>,
    /// Confidence of each sampled interval, in (0, 1).
    #[arg(long, default_value_t = 0.95, allow_negative_numbers = true)]
    pub confidence: f64,
    /// Seed of the random stream.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub seed: u64,
    /// Largest number of players for exact enumeration.
    #[arg(long, default_value_t = crate::shapley::DEFAULT_EXACT_LIMIT, allow_negative_numbers = true)]
    pub exact_limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Every refusal of the engine here comes from the file or the request (a bad game, a
/// parameter out of range, exact forced on too many players, a closed form forced on a game
/// without one): bad input, exit code 2.
fn input(e: ShapleyError) -> CliError {
    match e {
        ShapleyError::InvalidGame(_)
        | ShapleyError::InvalidParameter(_)
        | ShapleyError::TooLarge { .. }
        | ShapleyError::MethodNotApplicable { .. } => CliError::Input(e.to_string()),
        ShapleyError::Money(_) => CliError::Failed(e.to_string()),
    }
}

/// Run the command.
pub fn run(args: ShapleyArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.game)
        .map_err(|e| CliError::Input(format!("{}: {e}", args.game.display())))?;
    let file = gamefile::parse(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", args.game.display())))?;
    let req = Request {
        method: args.method,
        exact_limit: args.exact_limit,
        sampling: SamplingConfig {
            seed: args.seed,
            samples: args.samples.unwrap_or(10_000),
            target_half_width: args.target_error,
            confidence: args.confidence,
            antithetic: None,
        },
        force_sampling: args.samples.is_some() || args.target_error.is_some(),
        unions: file.unions.clone(),
        ..Request::default()
    };
    if args.method == Method::Owen && file.unions.is_none() {
        return Err(CliError::Input(format!(
            "{}: --method owen needs \"unions\" in the game file",
            args.game.display()
        )));
    }
    let sol = solve(&*file.game, &req).map_err(input)?;
    let out = if args.json {
        render_json(&file.players, &sol)
    } else {
        render_table(&file.players, &sol)
    };
    print!("{out}");
    Ok(())
}

fn key(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The `--json` output.
pub fn render_json(players: &[String], sol: &Solution) -> String {
    let mut s = String::new();
    let obj = |f: &dyn Fn(usize) -> String| -> String {
        let items: Vec<String> = players
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}: {}", key(p), f(i)))
            .collect();
        format!("{{{}}}", items.join(", "))
    };
    match &sol.values {
        Values::Exact(v) => {
            let _ = write!(
                s,
                "{{\"method\": {}, \"values\": {}}}",
                key(sol.method.as_str()),
                obj(&|i| key(&fmt_ratio(&v[i])))
            );
        }
        Values::Sampled(e) => {
            let _ = write!(
                s,
                "{{\"method\": {}, \"samples\": {}, \"seed\": {}, \"values\": {}, \"stderr\": {}, \"ci\": {}, \"confidence\": {}, \"antithetic\": {}, \"range_guaranteed\": {}}}",
                key(sol.method.as_str()),
                e.samples,
                e.seed,
                obj(&|i| key(&e.values[i].to_string())),
                obj(&|i| key(&e.stderr[i].to_string())),
                obj(&|i| format!(
                    "[{}, {}]",
                    key(&e.ci[i].0.to_string()),
                    key(&e.ci[i].1.to_string())
                )),
                e.confidence,
                e.antithetic,
                e.range_guaranteed
            );
        }
    }
    s.push('\n');
    s
}

/// The readable table.
pub fn render_table(players: &[String], sol: &Solution) -> String {
    let w = players.iter().map(|p| p.len()).max().unwrap_or(6).max(6);
    let mut s = format!("method: {}\n", sol.method.as_str());
    match &sol.values {
        Values::Exact(v) => {
            let _ = writeln!(s, "{:w$}  {:>14}  exact", "player", "value");
            for (p, x) in players.iter().zip(v) {
                let _ = writeln!(s, "{p:w$}  {:>14.8}  {}", to_f64(x), fmt_ratio(x));
            }
        }
        Values::Sampled(e) => {
            let _ = writeln!(
                s,
                "samples: {}  seed: {}  confidence: {}{}",
                e.samples,
                e.seed,
                e.confidence,
                if e.range_guaranteed {
                    ""
                } else {
                    "  (ranges observed, intervals not guaranteed)"
                }
            );
            let _ = writeln!(
                s,
                "{:w$}  {:>12}  {:>12}  {:>12}",
                "player", "value", "ci low", "ci high"
            );
            for (i, p) in players.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "{p:w$}  {:>12.6}  {:>12.6}  {:>12.6}",
                    e.values[i], e.ci[i].0, e.ci[i].1
                );
            }
        }
    }
    s
}
