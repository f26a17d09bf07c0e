//! The admin dashboard: questions per day, answer latency, unanswered questions and the
//! most-cited documents, folded from the audit log's question rows.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::{ApiError, AppState, RequireAdmin};
use crate::store::{audit, documents};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/stats", get(stats))
}

/// Newest question rows the dashboard reads.
const QUESTION_ROWS: i64 = 20_000;

/// The dashboard's figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    /// Questions among the newest 20,000 audit rows of questions.
    questions: usize,
    /// The last 14 days, quiet days included.
    questions_per_day: Vec<DayCount>,
    /// Median seconds from question to answer (absent before the first question).
    latency_p50_s: Option<f64>,
    latency_p95_s: Option<f64>,
    /// The newest refused questions, at most 20.
    unanswered: Vec<Unanswered>,
    /// The ten documents cited by the most answers.
    most_cited: Vec<CitedDocument>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD`, UTC.
    day: String,
    questions: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unanswered {
    /// Unix time with milliseconds, as in the audit log.
    at: String,
    question: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CitedDocument {
    document: String,
    /// "(deleted)" for a document no longer in the knowledge base.
    title: String,
    /// Answers that cited it.
    citations: u64,
}

/// Questions per day, answer latency, unanswered questions and the most-cited documents,
/// from the audit log (admin).
#[utoipa::path(get, path = "/api/stats", tag = "admin", responses((status = 200, body = Stats), (status = 403)))]
pub(super) async fn stats(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Json<Stats>, ApiError> {
    let store = state.engine.store();
    let questions = audit::details_of(store, "question", QUESTION_ROWS).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    // Tens of thousands of JSON rows to fold: not on the async runtime.
    let (mut figures, most_cited) = tokio::task::spawn_blocking(move || question_figures(&questions, now))
        .await
        .map_err(anyhow::Error::from)?;
    for (document, citations) in most_cited {
        let title = documents::title(store, &document).await?;
        figures.most_cited.push(CitedDocument {
            document,
            title: title.unwrap_or_else(|| "(deleted)".into()),
            citations,
        });
    }
    Ok(Json(figures))
}

/// The dashboard's figures from the audit rows of questions (newest first), with
/// `most_cited` left empty, and the ten most-cited document ids with their counts.
fn question_figures(rows: &[(String, Value)], now: i64) -> (Stats, Vec<(String, u64)>) {
    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut unanswered = Vec::new();
    let mut cited: HashMap<String, u64> = HashMap::new();
    for (at, detail) in rows {
        let seconds: i64 = at.split('.').next().and_then(|secs| secs.parse().ok()).unwrap_or(0);
        *per_day.entry(day_of(seconds)).or_default() += 1;
        if let Some(seconds) = detail["seconds"].as_f64() {
            latencies.push(seconds);
        }
        if detail["refused"].as_bool() == Some(true) && unanswered.len() < 20 {
            unanswered.push(Unanswered {
                at: at.clone(),
                question: detail["question"].as_str().map(str::to_owned),
            });
        }
        for document in detail["cited_documents"].as_array().into_iter().flatten() {
            if let Some(document) = document.as_str() {
                *cited.entry(document.to_owned()).or_default() += 1;
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| -> Option<f64> {
        (!latencies.is_empty()).then(|| latencies[((latencies.len() - 1) as f64 * p).round() as usize])
    };
    let mut most_cited: Vec<(String, u64)> = cited.into_iter().collect();
    most_cited.sort_by(|left, right| right.1.cmp(&left.1).then_with(|| left.0.cmp(&right.0)));
    most_cited.truncate(10);
    // The last 14 days, quiet days included, so the chart's axis is time.
    let today = now / 86_400;
    let questions_per_day = (today - 13..=today)
        .map(|day| {
            let day = day_of(day * 86_400);
            let questions = per_day.get(&day).copied().unwrap_or(0);
            DayCount { day, questions }
        })
        .collect();
    let figures = Stats {
        questions: rows.len(),
        questions_per_day,
        latency_p50_s: percentile(0.5),
        latency_p95_s: percentile(0.95),
        unanswered,
        most_cited: Vec::new(),
    };
    (figures, most_cited)
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub(crate) fn day_of(unix_seconds: i64) -> String {
    // Civil-from-days, proleptic Gregorian calendar.
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_795_910_400), "2026-11-29");
    }

    #[test]
    fn most_cited_counts_each_question_once_per_document() {
        let rows = vec![
            (
                "100.0".to_owned(),
                json!({ "cited_documents": ["a", "b"], "seconds": 1.0 }),
            ),
            (
                "101.0".to_owned(),
                json!({ "cited_documents": ["a"], "seconds": 2.0, "refused": false }),
            ),
        ];
        let (figures, most_cited) = question_figures(&rows, 101);
        assert_eq!(most_cited, vec![("a".to_owned(), 2), ("b".to_owned(), 1)]);
        assert_eq!(figures.questions, 2);
        assert_eq!(figures.latency_p50_s, Some(2.0));
    }
}
