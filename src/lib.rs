//! sdrate: a batch rating engine for telecom Service Detail Records.
//!
//! The engine, in layers that follow the data flow (docs/architecture.md).
//! A module uses only modules below it in [`LAYERS`]; the test
//! `layers::no_module_reaches_upward` enforces it, and the crates around it
//! are enforced by the compiler: the SDR format (`sdrate-format`, [`sdr`])
//! is below everything, and the `sdrate` command (`src/main.rs`, `cli`,
//! `cmd/`, `ui`, `exit`, `metrics`) is a binary on top that the library cannot see.
pub mod allocator;
/// The SDR format (its own crate, `sdrate-format`).
pub use sdrate_format as sdr;
/// Generated SDRs (in the format crate).
pub use sdrate_format::generate;
pub mod error;
pub mod fault;
pub mod group;
pub mod money;
pub mod pipeline;
pub mod price;
pub mod rate;
pub mod read;
pub mod reprice;
pub mod resolve;
pub mod state;
pub mod write;

/// The layers of the engine, lowest first: each module may use only the
/// ones before it. `sdr` and `generate` are the format crate.
pub const LAYERS: [&str; 15] = [
    "allocator", // the global allocator the binary installs
    "error",     // the kinds of failure callers tell apart
    "money",     // exact amounts until their one rounding
    "sdr",       // the format crate: types, BER, codecs, events
    "generate",  // generated SDRs (format crate)
    "fault",     // why something is a fault: one spelling everywhere
    "read",      // framing inputs, event logs, kept-file indexes
    "group",     // sessions from events, the duplicate fingerprints
    "resolve",   // the tariff model: price lists, customers, policies
    "price",     // pricing one usage or one session, with its trace
    "rate",      // one SDR: classify, resolve, price, label
    "reprice",   // prices already on an SDR, for rerating
    "write",     // priced bytes, reports, kept files, output names
    "state",     // the state directory and publication
    "pipeline",  // the run engine
];

#[cfg(test)]
mod layers {
    use super::LAYERS;

    /// Every `crate::X` a library source file names (outside its tests and
    /// comments), with the top-level module the file belongs to.
    fn uses() -> Vec<(String, String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let binary = [
            "main.rs",
            "cli.rs",
            "ui.rs",
            "exit.rs",
            "log.rs",
            "metrics.rs",
            "cmd",
        ];
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let top = rel
                    .split('/')
                    .next()
                    .unwrap()
                    .trim_end_matches(".rs")
                    .to_owned();
                if binary
                    .iter()
                    .any(|b| rel == *b || rel.starts_with(&format!("{b}/")))
                {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap();
                for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for part in line.split("crate::").skip(1) {
                        let name: String = part
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        out.push((rel.clone(), top.clone(), name));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn no_module_reaches_upward() {
        let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
        let mut upward = Vec::new();
        for (file, top, used) in uses() {
            if top == "lib" || used == top {
                continue;
            }
            let (Some(from), Some(to)) = (rank(&top), rank(&used)) else {
                upward.push(format!("{file}: `{top}` or `{used}` is in no layer"));
                continue;
            };
            if to > from {
                upward.push(format!("{file}: `{top}` uses `{used}`, a layer above it"));
            }
        }
        upward.sort();
        upward.dedup();
        assert!(upward.is_empty(), "{}", upward.join("\n"));
    }

    #[test]
    fn the_check_sees_the_sources() {
        // A check that read nothing would pass anything.
        let uses = uses();
        assert!(
            uses.iter()
                .any(|(_, top, u)| top == "pipeline" && u == "state")
        );
        assert!(uses.len() > 100, "{}", uses.len());
    }
}
