//! The HTTP API driven without a port, through `app()` and `oneshot`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use onair_relay::{app, AppState, Limits};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn call(state: &std::sync::Arc<AppState>, method: &str, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app(state.clone()).oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn register(state: &std::sync::Arc<AppState>, user: &str) -> String {
    let (s, v) = call(state, "POST", "/v1/register", None, json!({"user": user, "password": "long enough"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn accounts_rpc_and_authorisation() {
    let state = AppState::in_memory(Limits::default());
    let a = register(&state, "alice").await;
    let b = register(&state, "bob").await;
    let c = register(&state, "carol").await;

    let (s, v) = call(&state, "POST", "/v1/register", None, json!({"user": "alice", "password": "long enough"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("taken")));
    let (s, _) = call(&state, "POST", "/v1/register", None, json!({"user": "Bad Name", "password": "long enough"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = call(&state, "POST", "/v1/login", None, json!({"user": "alice", "password": "wrong one"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_credentials")));
    let (s, v) = call(&state, "POST", "/v1/login", None, json!({"user": "nobody", "password": "wrong one"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_credentials")));
    let (s, _) = call(&state, "POST", "/v1/login", None, json!({"user": "alice", "password": "long enough"})).await;
    assert_eq!(s, StatusCode::OK);

    let (s, _) = call(&state, "POST", "/v1/rpc", None, json!({"op": "conversations"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&state, "POST", "/v1/rpc", Some("forged"), json!({"op": "conversations"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, v) = call(&state, "POST", "/v1/rpc", Some(&a), json!({"op": "send", "client_id": "m1", "to": {"user": "bob"}, "text": "hi"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["conv"].as_str(), v["seq"].as_u64()), (Some("dm:alice:bob"), Some(1)));
    // Idempotent resend.
    let (_, v2) = call(&state, "POST", "/v1/rpc", Some(&a), json!({"op": "send", "client_id": "m1", "to": {"user": "bob"}, "text": "hi"})).await;
    assert_eq!(v2, v);

    let (s, v) = call(&state, "POST", "/v1/rpc", Some(&b), json!({"op": "sync", "conv": "dm:alice:bob", "after": 0, "limit": 10})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    for req in [
        json!({"op": "sync", "conv": "dm:alice:bob", "after": 0, "limit": 10}),
        json!({"op": "members", "conv": "dm:alice:bob"}),
        json!({"op": "send", "client_id": "c1", "to": {"conv": "dm:alice:bob"}, "text": "me too"}),
        json!({"op": "read", "conv": "dm:alice:bob", "seq": 1}),
    ] {
        let (s, v) = call(&state, "POST", "/v1/rpc", Some(&c), req).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_member")));
    }
    // Recall by the sender within the window; others cannot.
    let (s, _) = call(&state, "POST", "/v1/rpc", Some(&b), json!({"op": "recall", "id": "m1"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&state, "POST", "/v1/rpc", Some(&a), json!({"op": "recall", "id": "m1"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = call(&state, "POST", "/v1/rpc", Some(&b), json!({"op": "sync", "conv": "dm:alice:bob", "after": 0, "limit": 10})).await;
    let e = v["entries"].as_array().unwrap();
    assert_eq!((e[0]["deleted"].as_bool(), e[0]["text"].as_str()), (Some(true), Some("")));
    assert_eq!((e[1]["kind"].as_str(), e[1]["ref_seq"].as_u64()), (Some("recall"), Some(1)));

    let res = app(state.clone()).oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // /metrics is the operator's: off until a token is configured, then only with it.
    let res = app(state.clone()).oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let _ = state.metrics_token.set(onair_relay::config::Secret("ops".into()));
    let res = app(state.clone()).oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app(state.clone()).oneshot(Request::get("/metrics").header("authorization", "Bearer ops").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("onair_relay_http_requests_total"));
}

#[tokio::test]
async fn recall_window_and_burn_after_read() {
    let state = AppState::in_memory(Limits { recall_window_secs: 0, ..Limits::default() });
    let a = register(&state, "alice").await;
    let b = register(&state, "bob").await;
    let send = json!({"op": "send", "client_id": "old", "to": {"user": "bob"}, "text": "x"});
    call(&state, "POST", "/v1/rpc", Some(&a), send).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (s, v) = call(&state, "POST", "/v1/rpc", Some(&a), json!({"op": "recall", "id": "old"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("too_late")));

    // Burn: armed when bob reads, due after the timer.
    call(&state, "POST", "/v1/rpc", Some(&a), json!({"op": "send", "client_id": "b1", "to": {"user": "bob"}, "text": "burn me", "burn_secs": 0})).await;
    assert!(state.store.due_burns(i64::MAX).unwrap().is_empty(), "not armed before it is read");
    call(&state, "POST", "/v1/rpc", Some(&b), json!({"op": "read", "conv": "dm:alice:bob", "seq": 2})).await;
    assert_eq!(state.store.due_burns(i64::MAX).unwrap(), vec![("dm:alice:bob".to_string(), 2)]);
}
