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
    fn heap_bytes(&self) -> usize {
        use serde_json::Value;
        match self {
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
            Value::String(s) => s.capacity(),
            Value::Array(items) => {
                items.capacity() * std::mem::size_of::<Value>()
                    + items.iter().map(ApproxBytes::heap_bytes).sum::<usize>()
            }
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| k.capacity() + 48 + std::mem::size_of::<Value>() + v.heap_bytes())
                .sum(),
        }
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
