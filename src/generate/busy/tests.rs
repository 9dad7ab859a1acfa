//! Unit tests of the busy profile's estate and records.

use super::estate::{Estate, Role};

#[test]
fn estate_has_the_issue_shape() {
    let e = Estate::build();
    assert_eq!(e.accounts.len(), 4);
    assert_eq!(e.ifaces.len(), 200);
    let dual = e.ifaces.iter().filter(|f| !f.ipv6.is_empty()).count();
    assert!((45..=55).contains(&dual), "a quarter dual-stack: {dual}");
    assert!(e.ifaces.iter().any(|f| !f.secondary.is_empty()));
    assert!(e
        .ifaces
        .iter()
        .any(|f| f.role == Role::Nat { transit: true }));
    assert_eq!(e.public_v4.len() + e.public_v6.len(), 20_000);
    assert_eq!(e.scanners.len(), 3_000);
}
