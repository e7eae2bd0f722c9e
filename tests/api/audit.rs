//! The regulator's concentration figures over published allocations.

use crate::allocations::{two_authors_and_a_value, wait_for_allocation};

#[tokio::test]
async fn concentration_figures_are_exact_and_bad_parameters_are_refused() {
    let (app, _, value_id) = two_authors_and_a_value().await;
    wait_for_allocation(&app, &value_id).await;

    // Alice 25.00 and Bob 75.00 of 100.00: HHI = 1/16 + 9/16 = 5/8; Gini over the sorted
    // totals 25, 75: (75 - 25) / (2 × 100) = 1/4; the largest has 3/4.
    let (status, view) = app.get("/v1/audit/concentration?project=novel").await;
    assert_eq!(status, 200, "{view}");
    let eur = &view["currencies"][0];
    assert_eq!(eur["currency"], "EUR", "{view}");
    assert_eq!(eur["basis"], "earned");
    assert_eq!(
        (eur["allocations"].as_u64(), eur["actors"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(eur["total"], "100.00");
    assert_eq!(eur["hhi"]["exact"], "5/8");
    assert_eq!(eur["hhi"]["rounded"], "0.625000");
    assert_eq!(eur["gini"]["exact"], "1/4");
    assert_eq!(eur["top"][0]["k"], 1);
    assert_eq!(eur["top"][0]["share"]["exact"], "3/4");
    assert_eq!(eur["largest"][0]["actor"], "bob");
    assert_eq!(eur["by_kind"][0]["kind"], "human");
    assert_eq!(eur["by_kind"][0]["share"]["exact"], "1");

    let (_, received) = app
        .get("/v1/audit/concentration?project=novel&basis=received&largest=1")
        .await;
    assert_eq!(
        received["currencies"][0]["largest"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (_, other) = app.get("/v1/audit/concentration?project=another").await;
    assert_eq!(other["currencies"].as_array().map(Vec::len), Some(0));

    for query in [
        "basis=everyone",
        "largest=5000",
        "since=-1",
        "project=Not%20a%20slug",
    ] {
        let (status, problem) = app.get(&format!("/v1/audit/concentration?{query}")).await;
        assert_eq!(status, 400, "{query}: {problem}");
    }
}
