//! The storage contract of `ports`.

ports::store_contract_tests!(crate::fresh_store());
