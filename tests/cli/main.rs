//! Tests of the `sdrate` command, run as a user runs it: one harness (one
//! binary to build and link) with a module per capability. Every command
//! comes from [`sdrate_command`], which scrubs the environment; the
//! helpers the modules share are in [`common`].

mod answers;
mod cli_exit_codes;
mod cli_ux;
mod common;
mod explain;
mod export;
mod fixtures;
mod golden;
mod interactions;
mod logs;
mod malformed;
mod metrics;
mod network_costs;
mod nothing_lost;
mod price_list_validation;
mod pricing_truth;
mod production;
mod qa_thresholds;
mod rate_issue3;
mod rate_periods_tiers;
mod reader_bounds;
mod recycle;
mod regression_every_pricing_module;
mod rerate;
mod responsibility;
mod routing_participations;
mod sessions;
mod shards;
mod spark;
mod spools;
mod state_lasts;
mod suspense_management;
mod usage;

/// The `sdrate` binary, with every `SDRATE_*` and colour variable of the
/// environment removed: a developer's settings never change a result.
pub fn sdrate_command() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("sdrate").unwrap();
    for k in scrubbed() {
        c.env_remove(k);
    }
    c
}

/// The same for a `std::process::Command` (a test that pipes).
pub fn scrub(c: &mut std::process::Command) -> &mut std::process::Command {
    for k in scrubbed() {
        c.env_remove(k);
    }
    c
}

fn scrubbed() -> Vec<std::ffi::OsString> {
    const COLOUR: [&str; 2] = ["NO_COLOR", "FORCE_COLOR"];
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| {
            let k = k.to_string_lossy();
            k.starts_with("SDRATE_") || k.starts_with("CLICOLOR") || COLOUR.contains(&k.as_ref())
        })
        .collect()
}
