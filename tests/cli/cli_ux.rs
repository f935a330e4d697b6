//! Operator experience: `check`, `completions`, `man`, `-q`/`-v`,
//! `NO_COLOR` and the environment variables shown in `--help`.

use std::fs;
use std::path::Path;

use crate::common::{PRICING_TIME, ROOT, run, sdrate};

/// The whitespace-separated cells of the first line of `text` whose first
/// cell is `first`.
fn row<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&first))
        .unwrap_or_else(|| panic!("no row `{first}` in\n{text}"))
}

fn toml_files(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            if p.is_dir() {
                toml_files(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "toml"))
            }
        })
        .sum()
}

const BASIC: &str = "id = \"b\"\nrevision = 1\nkind = \"basic\"\nservice = \"VPN\"\n\
                     valid_from = \"2026-01-01T00:00:00Z\"\nitems = [\"call\"]\n";

/// A base list of marketing company `m`, its VAT `vat` as written (line 9).
fn base(vat: &str) -> String {
    format!(
        "id = \"x\"\nrevision = 1\nkind = \"base\"\nservice = \"VPN\"\nbased_on = \"b\"\n\
         marketing_company = \"m\"\nvalid_from = \"2026-01-01T00:00:00Z\"\ncurrency = \"SEK\"\n\
         vat_percent = {vat}\n"
    )
}

#[test]
fn check_reports_the_shipped_price_lists_and_customers() {
    let r = run(sdrate().arg("check"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "", "no warnings on the shipped data");
    let lists = Path::new(ROOT).join("price_lists");
    // profiles/ holds profiles, components and rules, not price lists.
    let profiles = lists.join("profiles");
    let total = toml_files(&lists) - toml_files(&profiles);
    let mut services = 0;
    for entry in fs::read_dir(&lists).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() || dir == profiles {
            continue;
        }
        services += 1;
        // One directory per service, named after it; the last column of a
        // service's row counts its revisions (files).
        let service = dir.file_name().unwrap().to_str().unwrap().to_uppercase();
        let cells = row(&r.stdout, &service);
        assert_eq!(
            cells.last().unwrap().parse::<usize>().unwrap(),
            toml_files(&dir),
            "{service}: {}",
            r.stdout
        );
        // Every service has exactly one basic list (second column).
        assert_eq!(cells[1], "1", "{service}");
    }
    assert!(
        r.stdout.starts_with(&format!(
            "price lists in price_lists: {services} services, "
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("{total} revisions\n")),
        "{}",
        r.stdout
    );
    assert_eq!(row(&r.stdout, "all").last().unwrap(), &total.to_string());
    // The shipped profiles, components and rules (docs/interactions.md).
    assert!(
        r.stdout.contains(
            "profiles in price_lists/profiles: 5 components, 6 rules, 5 profile revisions\n"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(
        row(&r.stdout, "best-price")[1..],
        ["vpn-onnet-offnet,list", "lowest", "precedence", "next"]
    );
    // One revision line per file, each with its validity.
    let revision_lines = r
        .stdout
        .lines()
        .filter(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.windows(2).any(|w| {
                w[0].strip_prefix('r')
                    .is_some_and(|n| n.parse::<u16>().is_ok())
                    && w[1].starts_with("20")
            })
        })
        .count();
    assert_eq!(revision_lines, total, "{}", r.stdout);
    let csv = fs::read_to_string(lists.join("customers.csv")).unwrap();
    let customers = csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    assert!(
        r.stdout.contains(&format!(
            "customers in price_lists/customers.csv: {customers}\n"
        )),
        "{}",
        r.stdout
    );
    let corporate_of_megacom = csv
        .lines()
        .filter(|l| l.ends_with(",megacom,corporate"))
        .count();
    assert!(
        r.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["megacom", "corporate", &corporate_of_megacom.to_string()]),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("checks: no warnings\n"), "{}", r.stdout);
}

#[test]
fn check_names_file_line_and_column_of_a_broken_list() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("basic.toml"), BASIC).unwrap();
    // A money amount written as a float.
    fs::write(t.path().join("base.toml"), base("25.0")).unwrap();
    let r = run(sdrate().arg("check").arg("--price-lists").arg(t.path()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("base.toml: line 9, column 15"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "", "no report when the lists do not load");
    // The same through the environment variable `rate` also reads.
    let r = run(sdrate().arg("check").env("SDRATE_PRICE_LISTS", t.path()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("base.toml: line 9"), "{}", r.stderr);
    // No lists at all is bad configuration too, as for `rate`.
    let empty = t.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let r = run(sdrate().arg("check").arg("--price-lists").arg(&empty));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no price lists found"), "{}", r.stderr);
}

#[test]
fn check_warns_and_strict_makes_warnings_fatal() {
    let t = tempfile::tempdir().unwrap();
    let lists = t.path().join("lists");
    fs::create_dir(&lists).unwrap();
    fs::write(lists.join("basic.toml"), BASIC).unwrap();
    fs::write(lists.join("base.toml"), base("\"25\"")).unwrap();
    // A customer list for a customer the registry does not have.
    fs::write(
        lists.join("c9.toml"),
        "id = \"x-C9\"\nrevision = 1\nkind = \"customer\"\nservice = \"VPN\"\nbased_on = \"b\"\n\
         customer = \"C9\"\nvalid_from = \"2026-01-01T00:00:00Z\"\ndiscount_percent = \"5\"\n",
    )
    .unwrap();
    let customers = t.path().join("customers.csv");
    fs::write(&customers, "customer_id,marketing_company,group\nC1,m,\n").unwrap();
    let check = |strict: bool| {
        let mut c = sdrate();
        c.arg("check")
            .arg("--price-lists")
            .arg(&lists)
            .arg("--customers")
            .arg(&customers);
        if strict {
            c.arg("--strict");
        }
        run(&mut c)
    };
    let r = check(false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("WARN sdrate: customer `C9` is not in the customer registry"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(x-C9)"), "{}", r.stderr);
    assert!(
        r.stdout.ends_with("checks: 1 warning (on stderr)\n"),
        "{}",
        r.stdout
    );
    let r = check(true);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("WARN sdrate: customer `C9`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("1 warning with --strict"), "{}", r.stderr);
}

#[test]
fn completions_come_from_the_clap_definitions() {
    let r = run(sdrate().args(["completions", "bash"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("sdrate"), "{}", r.stdout);
    for sub in [
        "inspect",
        "encode",
        "generate",
        "rate",
        "check",
        "completions",
        "man",
    ] {
        assert!(r.stdout.contains(sub), "bash completion lacks {sub}");
    }
    assert!(r.stdout.contains("--price-lists"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let r = run(sdrate().args(["completions", shell]));
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("summary-json"), "{shell}");
    }
    let r = run(sdrate().args(["completions", "tcsh"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn man_writes_one_page_per_command() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("man1");
    let r = run(sdrate().args(["man", "-o"]).arg(&dir));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "sdrate.1",
        "sdrate-rate.1",
        "sdrate-check.1",
        "sdrate-man.1",
    ] {
        let text = fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.starts_with(".TH "), "{page}: {}", &text[..80]);
    }
    let rate = fs::read_to_string(dir.join("sdrate-rate.1")).unwrap();
    assert!(rate.contains("SDRATE_SUMMARY_JSON"), "env vars in the page");
    // The sections clap does not write: every exit code, and each
    // variable with the option it stands for.
    assert!(rate.contains(".SH \"EXIT STATUS\""), "{rate}");
    assert!(
        rate.contains(".TP\n\\fB6\\fR\nfinished, but a quality\\-assurance threshold was exceeded")
    );
    assert!(rate.contains(".SH ENVIRONMENT"), "{rate}");
    assert!(
        rate.contains("\\fBSDRATE_ROUTING\\fR\nthe default of \\fB\\-\\-routing\\fR"),
        "{rate}"
    );
    assert!(rate.contains("\\fBSDRATE_DUPLICATE_WINDOW\\fR"), "{rate}");
    assert!(!dir.join("sdrate-help.1").exists());
    // -q: nothing said; the directory can also come from the environment.
    let dir2 = t.path().join("again");
    let r = run(sdrate().args(["-q", "man"]).env("SDRATE_MAN_DIR", &dir2));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert!(dir2.join("sdrate-check.1").exists());
}

#[test]
fn quiet_rate_says_nothing_on_stderr() {
    let t = tempfile::tempdir().unwrap();
    let r = run(sdrate()
        .args(["-q", "rate", "fixtures/", "--out"])
        .arg(t.path())
        .args(["--pricing-time", PRICING_TIME]));
    // The fixtures carry faults on purpose: still exit code 1.
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert!(t.path().join("summary.json").exists());
}

#[test]
fn quiet_and_verbose_are_global_and_exclusive() {
    // Accepted before or after the subcommand.
    for args in [
        ["-q", "check", "--strict"],
        ["check", "-q", "--strict"],
        ["-v", "check", "--strict"],
    ] {
        let r = run(sdrate().args(args));
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    let r = run(sdrate().args(["-q", "check", "-v"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    // -v names each revision's file.
    let r = run(sdrate().args(["check", "-v"]));
    assert!(
        r.stdout.contains("price_lists/vpn/megacom-base-r3.toml"),
        "{}",
        r.stdout
    );
}

fn has_ansi(s: &str) -> bool {
    s.contains('\u{1b}')
}

#[test]
fn no_color_turns_colour_off() {
    // Forced colour first, so the test would see colour if there were any.
    let r = run(sdrate().arg("--help").env("CLICOLOR_FORCE", "1"));
    assert!(has_ansi(&r.stdout), "help is coloured when forced");
    let r = run(sdrate()
        .arg("--help")
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Usage: sdrate"), "{}", r.stdout);
    assert!(!has_ansi(&r.stdout), "{:?}", r.stdout);
    let r = run(sdrate().arg("--help").env("NO_COLOR", "1"));
    assert!(!has_ansi(&r.stdout), "{:?}", r.stdout);
    // Errors too.
    let r = run(sdrate()
        .args(["rate", "--no-such-flag"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"));
    assert_eq!(r.code, 2);
    assert!(!has_ansi(&r.stderr), "{:?}", r.stderr);
}

#[test]
fn every_path_option_has_an_environment_variable() {
    for (sub, vars) in [
        (
            "rate",
            &[
                "SDRATE_OUT",
                "SDRATE_STATE",
                "SDRATE_PRICE_LISTS",
                "SDRATE_CUSTOMERS",
                "SDRATE_SUMMARY_JSON",
            ][..],
        ),
        ("check", &["SDRATE_PRICE_LISTS", "SDRATE_CUSTOMERS"][..]),
        ("encode", &["SDRATE_ENCODE_OUTPUT"][..]),
        ("generate", &["SDRATE_GENERATE_OUTPUT"][..]),
        ("man", &["SDRATE_MAN_DIR"][..]),
    ] {
        let r = run(sdrate().args([sub, "--help"]));
        assert_eq!(r.code, 0, "{sub}: {}", r.stderr);
        for var in vars {
            assert!(
                r.stdout.contains(&format!("[env: {var}=")),
                "{sub} --help lacks {var}:\n{}",
                r.stdout
            );
        }
    }
}
