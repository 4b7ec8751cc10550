//! End-to-end on two real app processes (WebKitWebDriver + Xvfb), each with
//! its own ONAIR_HOME, against one relay (the first app's embedded relay):
//! both register through the Chat screen, one writes to the other, and the
//! message appears in the other window; the reply comes back the same way.
//! Screenshots of Chat (both sides), Watch, Calls and Settings go to
//! target/e2e-artifacts/.

mod support;

use serde_json::json;
use support::{secs, App, Launch};

fn register(app: &App, user: &str) {
    app.click("[data-testid=nav-chat]");
    app.type_text("[data-testid=chat-user]", user);
    app.type_text("[data-testid=chat-password]", "correct horse battery");
    app.click("[data-testid=chat-register]");
    // Signed in, and the listener reached the relay.
    app.wait_text("[data-testid=chat-online]", "online", secs(60));
}

fn send(app: &App, to: &str, text: &str) {
    app.type_text("[data-testid=chat-new-to]", to);
    app.click("[data-testid=chat-open]");
    app.wait_text("[data-testid=chat-title]", to, secs(30));
    app.type_text("[data-testid=chat-input]", text);
    app.click("[data-testid=chat-send]");
}

/// Waits until a message with `text` is in the open conversation in `state`.
fn wait_message(app: &App, text: &str, state: &str) {
    app.wait_js(
        &format!(
            "return [...document.querySelectorAll('[data-testid=chat-messages] .msg')].some(m => m.dataset.state === {} && m.querySelector('.msg-text').textContent === {})",
            json!(state),
            json!(text)
        ),
        secs(60),
        &format!("message {text:?} {state}"),
    );
}

#[test]
fn a_chat_message_goes_from_one_app_window_to_another() {
    let home_a = tempfile::tempdir().unwrap();
    let home_b = tempfile::tempdir().unwrap();
    let alice = App::launch(Launch::new(home_a.path()));
    let relay = alice.relay_url();
    let mut lb = Launch::new(home_b.path());
    lb.relay_url = Some(relay.clone());
    let bob = App::launch(lb);
    assert_eq!(bob.relay_url(), relay, "the second app uses the first one's relay");

    register(&alice, "alice");
    register(&bob, "bob");

    // alice → bob: pending at once, then sent; bob's window shows it.
    let hello = "hello from window A ✓";
    send(&alice, "bob", hello);
    wait_message(&alice, hello, "sent");
    bob.wait_text("[data-testid=chat-list]", hello, secs(60));
    bob.wait_js("return document.querySelector('[data-conv=\"dm:alice:bob\"] [data-testid=unread]')?.textContent === '1'", secs(30), "one unread in bob's list");
    bob.screenshot("chat-b-unread");
    bob.click("[data-conv=\"dm:alice:bob\"]");
    wait_message(&bob, hello, "received");

    // bob → alice, in the conversation bob has open.
    let reply = "and back from window B";
    bob.type_text("[data-testid=chat-input]", reply);
    bob.click("[data-testid=chat-send]");
    wait_message(&bob, reply, "sent");
    wait_message(&alice, reply, "received");

    // alice sees bob read her message (read receipts come back as events).
    alice.wait_js(
        &format!(
            "return [...document.querySelectorAll('[data-testid=chat-messages] .msg.mine')].some(m => m.querySelector('.msg-text').textContent === {} && (m.querySelector('[data-testid=msg-state]')?.textContent ?? '').startsWith('read'))",
            json!(hello)
        ),
        secs(60),
        "alice's message marked read",
    );
    alice.screenshot("chat-a");
    bob.screenshot("chat-b");

    // Full-text search finds it in the local cache.
    alice.type_text("[data-testid=chat-search]", "window");
    alice.eval("document.querySelector('[data-testid=chat-search]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' })); return true");
    alice.wait_text("[data-testid=chat-list]", "2 results", secs(30));

    // A call between the two windows: alice dials bob by name, bob's Calls
    // screen rings, he answers, both are in the call, alice hangs up and
    // both see it end. (Signaling only: the app carries no call media yet.)
    bob.click("[data-testid=nav-call]");
    alice.click("[data-testid=nav-call]");
    alice.type_text("[data-testid=call-to]", "bob\u{E007}");
    alice.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'outgoing'", secs(30), "alice's call to ring out");
    bob.click("[data-testid=call-answer]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'active'", secs(30), &format!("{who} in the call"));
    }
    alice.screenshot("call-a-active");
    alice.click("[data-testid=call-hangup]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'ended'", secs(30), &format!("the call ended for {who}"));
    }
    bob.screenshot("call-b-ended");

    // The other screens render (screenshots for the record).
    for s in ["watch", "call", "settings"] {
        alice.click(&format!("[data-testid=nav-{s}]"));
        alice.find(&format!("[data-testid=screen-{s}]"));
        if s == "call" {
            // bob is a contact once they are friends; a user name works either way.
            alice.find("[data-testid=call-to]");
        }
        alice.screenshot(&format!("{s}-signed-in"));
    }
}
