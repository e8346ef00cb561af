//! Controller frames (the portal registry's WebSocket JSON-RPC), as the registry session reads
//! them: classified, a request answered as unsupported, a registration ack checked.

use light_gateway::registry::protocol::{self, Inbound};
use serde_json::Value;

/// Whether `value` holds a float anywhere: serde_json (without `float_roundtrip`) may read a
/// written float back one unit off, so such ids are not compared after a round trip.
fn holds_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(holds_float),
        Value::Object(map) => map.values().any(holds_float),
        _ => false,
    }
}

/// Input: one text frame (WebSocket text is UTF-8, so other bytes never reach the gateway).
pub fn controller_frame(data: &[u8]) {
    let Ok(text) = str::from_utf8(data) else {
        return;
    };
    match protocol::classify(text) {
        Some(Inbound::Request { id, method, .. }) => {
            let result = protocol::unsupported(&method);
            let answer = protocol::answer(&id, result.clone());
            let back = protocol::classify(&answer).expect("the gateway's answer is JSON-RPC");
            if !holds_float(&id) {
                let id = id.as_str().map_or_else(|| id.to_string(), str::to_string);
                assert_eq!(
                    back,
                    Inbound::Response {
                        id,
                        outcome: Ok(result)
                    },
                    "the answer {answer} reads back as the response to the request"
                );
            }
        }
        Some(Inbound::Response {
            outcome: Ok(result), ..
        }) => {
            if protocol::registered_id(&result).is_ok()
                && let Some(status) = result.get("status").and_then(Value::as_str)
            {
                assert_eq!(status, "registered", "an ack of another status was taken: {result}");
            }
        }
        _ => {}
    }
}
