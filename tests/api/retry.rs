//! `POST /v1/allocations/{value_id}/retry`: wakes the allocator for a value still waiting;
//! an allocation already in the log is final.

use crate::allocations::{two_authors_and_a_value, wait_for_allocation};

#[tokio::test]
async fn a_retry_never_duplicates_and_an_existing_allocation_is_final() {
    let (app, _, value_id) = two_authors_and_a_value().await;
    let retry = |id: String| {
        let app = &app;
        async move { app.post_empty(&format!("/v1/allocations/{id}/retry")).await }
    };

    // Right after the value entry: the allocator has answered already (409) or answers
    // while the retry waits (200); either way there is one allocation.
    let (status, body) = retry(value_id.clone()).await;
    assert!(
        status == 409 || (status == 200 && body["status"] == "allocated"),
        "{status} {body}"
    );
    wait_for_allocation(&app, &value_id).await;
    let (status, problem) = retry(value_id.clone()).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "urn:fairshare:problem:conflict");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("succeeded")),
        "{problem}"
    );
    let listed = app.get("/v1/allocations?project=novel").await.1;
    assert_eq!(listed["allocations"].as_array().map(Vec::len), Some(1));

    let (status, problem) = retry("ab".repeat(32)).await;
    assert_eq!(status, 404, "{problem}");
    let (status, problem) = retry("not-an-id".to_owned()).await;
    assert_eq!(status, 400, "{problem}");
}
