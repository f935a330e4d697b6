//! `sdrate man [-o DIR]`: man pages from the clap definitions, sdrate.1 and
//! sdrate-SUBCOMMAND.1 for each subcommand.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs, Verbosity};

pub fn run(args: &ManArgs, verbosity: Verbosity) -> Result<ExitCode> {
    let dir = &args.output;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building names each subcommand `sdrate-NAME`, its page's title.
    cmd.build();
    let mut written = Vec::new();
    write_pages(cmd, dir, &mut written)?;
    if verbosity.is_verbose(1) {
        for p in &written {
            tracing::info!("wrote {}", p.display());
        }
    }
    if !verbosity.is_quiet() {
        tracing::info!("{} man pages written to {}", written.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn write_pages(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let page = clap_mangen::Man::new(cmd.clone())
        .source(format!("sdrate {}", env!("CARGO_PKG_VERSION")))
        .manual("sdrate manual");
    let path = dir.join(page.get_filename());
    let mut buf = Vec::new();
    page.render(&mut buf)
        .with_context(|| format!("cannot render {}", path.display()))?;
    buf.extend_from_slice(extra_sections(&cmd).as_bytes());
    fs::write(&path, th_first(buf)).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    Ok(())
}

/// EXIT STATUS (every page: one table for every command) and ENVIRONMENT
/// (the variables this command's options read), which clap_mangen does
/// not write.
fn extra_sections(cmd: &clap::Command) -> String {
    let escape = |t: &str| t.replace('\\', "\\e").replace('-', "\\-");
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::exit::MEANINGS {
        s.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", escape(meaning)));
    }
    let mut vars: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_str()?.to_owned();
            let name = a
                .get_long()
                .map_or_else(|| a.get_id().to_string(), |l| format!("--{l}"));
            Some((env, name))
        })
        .collect();
    vars.sort();
    vars.dedup();
    if !vars.is_empty() {
        s.push_str(".SH ENVIRONMENT\n");
        for (env, option) in vars {
            s.push_str(&format!(
                ".TP\n\\fB{}\\fR\nthe default of \\fB{}\\fR; the option wins\n",
                escape(&env),
                escape(&option)
            ));
        }
        s.push_str(".TP\n\\fBNO_COLOR\\fR\nno colour in help and messages\n");
    }
    s
}

/// Moves the `.TH` title line to the top of the page. clap_mangen puts the
/// definition of the `Aq` (apostrophe) string first; that only has to come
/// before the string's first use, and `.TH` first is what readers of man
/// sources (and `whatis` indexers) expect.
fn th_first(page: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&page);
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    if let Some(i) = lines.iter().position(|l| l.starts_with(".TH ")) {
        let th = lines.remove(i);
        lines.insert(0, th);
    }
    lines.concat().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_line_goes_first_and_nothing_is_lost() {
        let page = ".ie a\n.el b\n.TH x 1\n.SH NAME\n";
        assert_eq!(
            th_first(page.as_bytes().to_vec()),
            b".TH x 1\n.ie a\n.el b\n.SH NAME\n"
        );
        assert_eq!(th_first(b"no title\n".to_vec()), b"no title\n");
    }
}
