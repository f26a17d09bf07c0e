//! `appliance eval trust`: the questions an employee asks, on real documents, graded for
//! what matters to trust rather than for extractive overlap.
//!
//! The documents (by default `demo/documents/`) are ingested into a temporary data directory
//! and every question of `tests/fixtures/trust/questions.jsonl` is asked. Each answer is
//! graded into exactly one outcome:
//!
//! - `right`: a generated answer that contains the gold (all parts of a multi-part one; for a
//!   yes/no question, the expected yes or no first, also before an extract), or a refusal of
//!   an unanswerable question;
//! - `wrong`: the opposite yes or no, a string the question marks as a wrong fact, or a
//!   generated answer to an unanswerable question;
//! - `false_refusal`: an answerable question refused;
//! - `extract`: the labelled extract fallback without a yes or no (for an unanswerable
//!   question too), counted apart; `extract_with_gold` says how many of them hold the answer;
//! - `incomplete`: a generated answer that is neither right nor wrong (the gold is missing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::json;

use super::{Scratch, contains_gold, percentile, read_jsonl};
use crate::acl::{Acl, DocumentAccess};
use crate::engine::{Answer, Engine, IngestOptions};
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The questions (JSON lines, see tests/fixtures/trust/README.md).
    #[arg(long, default_value = "tests/fixtures/trust/questions.jsonl")]
    questions: PathBuf,
    /// The documents the questions are about.
    #[arg(long, default_value = "demo/documents")]
    documents: PathBuf,
    /// Ask only the first N questions.
    #[arg(long)]
    limit: Option<usize>,
    /// Ask only the questions whose id starts with this (for example `zh-`).
    #[arg(long)]
    only: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Deserialize)]
struct TrustQuestion {
    id: String,
    lang: String,
    kind: String,
    question: String,
    expect: Option<String>,
    #[serde(default)]
    answers: Vec<String>,
    #[serde(default)]
    answers_all: Vec<String>,
    #[serde(default)]
    must_not: Vec<String>,
}

/// How one answer is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Right,
    Wrong,
    FalseRefusal,
    Extract,
    Incomplete,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Right => "right",
            Outcome::Wrong => "wrong",
            Outcome::FalseRefusal => "false_refusal",
            Outcome::Extract => "extract",
            Outcome::Incomplete => "incomplete",
        }
    }
}

/// The yes or no an answer text starts with, read independently of the engine's own
/// parsing so that the grade does not trust the code it grades.
fn leading_yes_no(text: &str) -> Option<bool> {
    let text = text.trim_start().to_lowercase();
    let first_word: String = text
        .chars()
        .take_while(|character| character.is_ascii_alphabetic())
        .collect();
    match first_word.as_str() {
        "yes" => return Some(true),
        "no" => return Some(false),
        "" => {}
        _ => return None,
    }
    let first = text.chars().next()?;
    if "不否没沒无無".contains(first) {
        Some(false)
    } else if "是对對会會能可有需".contains(first) {
        Some(true)
    } else {
        None
    }
}

fn grade(question: &TrustQuestion, answer: &Answer) -> Outcome {
    let text = answer.answer.as_str();
    // The checked yes or no the answer leads with ("不需要。"), else the one its text starts with.
    let said = answer.yes_no.or_else(|| leading_yes_no(text));
    let unanswerable = question.kind == "unanswerable";
    if answer.refused {
        return if unanswerable {
            Outcome::Right
        } else {
            Outcome::FalseRefusal
        };
    }
    if answer.extractive {
        // "No." before a quoted, cited passage sentence is the answer a yes/no question asks
        // for (the yes or no checked against that sentence); without one it is an extract.
        return match (&question.expect, said) {
            (Some(expect), Some(said)) if said == (expect == "yes") => Outcome::Right,
            (Some(_), Some(_)) => Outcome::Wrong,
            _ => Outcome::Extract,
        };
    }
    if unanswerable || contains_gold(text, &question.must_not) {
        return Outcome::Wrong;
    }
    if let Some(expect) = &question.expect {
        let expected = expect == "yes";
        return match said {
            Some(said) if said == expected => Outcome::Right,
            Some(_) => Outcome::Wrong,
            None => Outcome::Incomplete,
        };
    }
    let holds = if question.answers_all.is_empty() {
        contains_gold(text, &question.answers)
    } else {
        question
            .answers_all
            .iter()
            .all(|part| contains_gold(text, std::slice::from_ref(part)))
    };
    if holds { Outcome::Right } else { Outcome::Incomplete }
}

/// Counts of outcomes, as a JSON object with shares of the total.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<Outcome, usize>,
    extract_with_gold: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome, extract_with_gold: bool) {
        *self.counts.entry(outcome).or_default() += 1;
        self.extract_with_gold += usize::from(extract_with_gold);
        self.total += 1;
    }

    fn report(&self) -> serde_json::Value {
        let mut report = serde_json::Map::new();
        report.insert("questions".to_owned(), json!(self.total));
        for outcome in [
            Outcome::Right,
            Outcome::Wrong,
            Outcome::FalseRefusal,
            Outcome::Extract,
            Outcome::Incomplete,
        ] {
            let count = self.counts.get(&outcome).copied().unwrap_or(0);
            report.insert(outcome.name().to_owned(), json!(count));
            report.insert(
                format!("{}_rate", outcome.name()),
                json!(count as f64 / self.total.max(1) as f64),
            );
        }
        report.insert("extract_with_gold".to_owned(), json!(self.extract_with_gold));
        serde_json::Value::Object(report)
    }
}

pub async fn trust(settings: Settings, args: TrustArgs) -> anyhow::Result<()> {
    let mut questions: Vec<TrustQuestion> = read_jsonl(&args.questions)?;
    if let Some(prefix) = &args.only {
        questions.retain(|question| question.id.starts_with(prefix.as_str()));
    }
    if let Some(limit) = args.limit {
        questions.truncate(limit);
    }
    if questions.is_empty() {
        bail!("no questions in {}", args.questions.display());
    }
    let (mut scratch, trust_settings) = Scratch::new(&settings, "trust");
    let engine = scratch.open(trust_settings).await?;
    let documents = ingest_documents(&engine, &args.documents, args.json).await?;

    let mut overall = Tally::default();
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut listed: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let (mut first_token_ms, mut decode_rates, mut seconds) = (Vec::new(), Vec::new(), Vec::new());
    let mut model = String::new();
    for (number, question) in questions.iter().enumerate() {
        let answer = engine.ask(&question.question, &Acl::operator(), "eval", None).await?;
        let outcome = grade(question, &answer);
        let gold = [question.answers.as_slice(), question.answers_all.as_slice()].concat();
        let extract_with_gold = outcome == Outcome::Extract && contains_gold(&answer.answer, &gold);
        overall.add(outcome, extract_with_gold);
        by_kind
            .entry(question.kind.clone())
            .or_default()
            .add(outcome, extract_with_gold);
        by_lang
            .entry(question.lang.clone())
            .or_default()
            .add(outcome, extract_with_gold);
        if outcome != Outcome::Right {
            listed.entry(outcome.name()).or_default().push(question.id.clone());
        }
        if answer.generated_tokens > 0 {
            first_token_ms.push(answer.seconds_to_first_token * 1000.0);
            decode_rates.push(answer.decode_tokens_per_second);
            if model.is_empty() {
                model = answer.model.clone();
            }
        }
        seconds.push(answer.seconds);
        if !args.json {
            eprintln!(
                "[{}/{}] {} {} {:?} -> {:?}{}",
                number + 1,
                questions.len(),
                outcome.name(),
                question.id,
                question.question,
                answer.answer,
                answer
                    .extract_reason
                    .as_deref()
                    .map(|reason| format!(" ({reason})"))
                    .or_else(|| {
                        let reason = answer.redraft_reason.as_deref()?;
                        Some(format!(" (second draft; the first: {reason})"))
                    })
                    .unwrap_or_default(),
            );
            for rejected in &answer.rejected {
                eprintln!(
                    "    left out: {:?} ({})",
                    rejected.text,
                    rejected.problem.as_deref().unwrap_or("not supported by a passage")
                );
            }
        }
    }
    first_token_ms.sort_by(f64::total_cmp);
    seconds.sort_by(f64::total_cmp);
    let mut report = overall.report();
    let map = |tallies: &BTreeMap<String, Tally>| {
        tallies
            .iter()
            .map(|(key, tally)| (key.clone(), tally.report()))
            .collect::<serde_json::Map<_, _>>()
    };
    report["documents"] = json!(documents);
    report["model"] = json!(model);
    report["by_kind"] = json!(map(&by_kind));
    report["by_lang"] = json!(map(&by_lang));
    report["ids"] = json!(listed);
    report["ttft_p50_ms"] = json!(percentile(&first_token_ms, 0.5));
    report["seconds_p50"] = json!(percentile(&seconds, 0.5));
    report["decode_tokens_per_s"] = json!(if decode_rates.is_empty() {
        0.0
    } else {
        decode_rates.iter().sum::<f64>() / decode_rates.len() as f64
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Ingests every supported file under `directory` as public documents; returns how many.
async fn ingest_documents(engine: &Engine, directory: &Path, quiet: bool) -> anyhow::Result<usize> {
    let files = crate::commands::collect_files(&[directory.to_path_buf()]);
    if files.is_empty() {
        bail!("no supported documents under {}", directory.display());
    }
    let options = IngestOptions {
        access: DocumentAccess::new(Vec::new(), true),
        actor: "eval".to_owned(),
    };
    for file in &files {
        engine
            .ingest_file(file, &options)
            .await
            .with_context(|| format!("ingesting {}", file.display()))?;
        if !quiet {
            eprintln!("ingested {}", file.display());
        }
    }
    engine.optimize().await?;
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(kind: &str, expect: Option<&str>, answers: &[&str]) -> TrustQuestion {
        TrustQuestion {
            id: "en-001".to_owned(),
            lang: "en".to_owned(),
            kind: kind.to_owned(),
            question: "Does it?".to_owned(),
            expect: expect.map(str::to_owned),
            answers: answers.iter().map(|answer| answer.to_string()).collect(),
            answers_all: Vec::new(),
            must_not: vec!["is used".to_owned()],
        }
    }

    fn answer(text: &str, refused: bool, extractive: bool) -> Answer {
        let mut answer = Answer::pending(1.0);
        answer.answer = text.to_owned();
        answer.refused = refused;
        answer.extractive = extractive;
        answer
    }

    #[test]
    fn every_outcome_is_reachable() {
        let yes_no = question("yesno", Some("no"), &["no internet connection"]);
        assert_eq!(
            grade(&yes_no, &answer("No. Nothing leaves [1].", false, false)),
            Outcome::Right
        );
        assert_eq!(
            grade(&yes_no, &answer("Yes. It connects [1].", false, false)),
            Outcome::Wrong
        );
        assert_eq!(
            grade(&yes_no, &answer("It connects [1].", false, false)),
            Outcome::Incomplete
        );
        assert_eq!(
            grade(&yes_no, &answer("Not found.", true, false)),
            Outcome::FalseRefusal
        );
        assert_eq!(
            grade(
                &yes_no,
                &answer("No. Extract (not generated): Nothing [1].", false, true)
            ),
            Outcome::Right
        );
        assert_eq!(
            grade(
                &yes_no,
                &answer("Yes. Extract (not generated): Nothing [1].", false, true)
            ),
            Outcome::Wrong
        );
        assert_eq!(
            grade(&yes_no, &answer("Extract (not generated): Nothing [1].", false, true)),
            Outcome::Extract
        );
        let fact = question("fact", None, &["Ask tab"]);
        assert_eq!(
            grade(&fact, &answer("Type it in the Ask tab [1].", false, false)),
            Outcome::Right
        );
        assert_eq!(
            grade(&fact, &answer("A connection is used [1].", false, false)),
            Outcome::Wrong,
            "must_not"
        );
        let unanswerable = question("unanswerable", None, &[]);
        assert_eq!(grade(&unanswerable, &answer("Not found.", true, false)), Outcome::Right);
        assert_eq!(
            grade(&unanswerable, &answer("Thirty days [1].", false, false)),
            Outcome::Wrong
        );
        assert_eq!(
            grade(&unanswerable, &answer("Extract (not generated): x [1].", false, true)),
            Outcome::Extract
        );
    }

    #[test]
    fn yes_and_no_are_read_in_both_languages() {
        assert_eq!(leading_yes_no("Yes. It does [1]."), Some(true));
        assert_eq!(leading_yes_no("No, it does not."), Some(false));
        assert_eq!(leading_yes_no("Nothing leaves the server."), None);
        assert_eq!(leading_yes_no("是的。管理员可以上传。"), Some(true));
        assert_eq!(leading_yes_no("不是。数据留在服务器上。"), Some(false));
        assert_eq!(leading_yes_no("所有数据都留在本服务器上。"), None);
    }
}
