//! A Salesforce client built for sync.
