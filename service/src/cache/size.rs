//! Approximate sizes of cached results, in bytes, for the cache's weight
//! bound: the struct itself plus what it owns on the heap. Cheap to compute
//! (no serialization): it runs on every miss.

use entity::{DbList, agent_execution, analytics, campaign, content, lead, trend, user};

use crate::queries::{AgentPerformanceReport, CampaignWithAnalytics, DayCount};

/// Approximate memory held by a value.
pub trait ApproxBytes {
    /// Bytes owned on the heap (not counting `size_of::<Self>()`).
    fn heap_bytes(&self) -> usize;

    /// Total approximate bytes.
    fn approx_bytes(&self) -> usize
    where
        Self: Sized,
    {
        std::mem::size_of::<Self>() + self.heap_bytes()
    }
}

impl ApproxBytes for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T: ApproxBytes> ApproxBytes for Option<T> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, ApproxBytes::heap_bytes)
    }
}

impl<T: ApproxBytes> ApproxBytes for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * std::mem::size_of::<T>()
            + self.iter().map(ApproxBytes::heap_bytes).sum::<usize>()
    }
}

impl<T: ApproxBytes> ApproxBytes for DbList<T> {
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

impl ApproxBytes for entity::enums::Platform {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl ApproxBytes for serde_json::Value {
    /// Walks the document with an explicit stack: a document read from
    /// the database may be nested far deeper than the call stack allows.
    fn heap_bytes(&self) -> usize {
        use serde_json::Value;
        let mut total = 0;
        let mut stack = vec![self];
        while let Some(v) = stack.pop() {
            match v {
                Value::Null | Value::Bool(_) | Value::Number(_) => {}
                Value::String(s) => total += s.capacity(),
                Value::Array(items) => {
                    total += items.capacity() * std::mem::size_of::<Value>();
                    stack.extend(items);
                }
                Value::Object(map) => {
                    for (k, item) in map {
                        total += k.capacity() + 48 + std::mem::size_of::<Value>();
                        stack.push(item);
                    }
                }
            }
        }
        total
    }
}

impl ApproxBytes for entity::Json {
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

/// Implements [`ApproxBytes`] for a model from its heap-owning fields.
macro_rules! approx_model {
    ($($ty:ty { $($field:ident),* $(,)? })*) => {
        $(impl ApproxBytes for $ty {
            fn heap_bytes(&self) -> usize {
                0 $(+ self.$field.heap_bytes())*
            }
        })*
    };
}

approx_model! {
    user::Model { id, email, name, avatar }
    campaign::Model { id, name, description, target_audience, platforms, metrics, settings, user_id, user_id2 }
    agent_execution::Model { id, agent_id, campaign_id, user_id, task, payload, result, error, metadata }
    analytics::Model { id, campaign_id, user_id, data, period, metadata }
    content::Model { id, title, content, performance, metadata }
    lead::Model { id, email, name, company, position, phone, source, tags, metadata }
    trend::Model { id, keyword, category, data }
    CampaignWithAnalytics { campaign, latest_analytics }
    AgentPerformanceReport { by_status, recent_completed }
}

impl ApproxBytes for DayCount {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl ApproxBytes for crate::queries::StatusCount {
    fn heap_bytes(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_grow_with_content() {
        let small = serde_json::json!({"a": 1});
        let big = serde_json::json!({"a": "x".repeat(10_000)});
        assert!(big.approx_bytes() >= small.approx_bytes() + 10_000);
        let v: Vec<String> = vec!["y".repeat(1000); 10];
        assert!(v.approx_bytes() >= 10_000);
    }
}
