//! Parsed text values: emails, names, phone numbers, passwords and free text.
//!
//! Each type is built only through its parser, so holding one proves the value is valid.
//! Values that can identify a person or describe their health print as `<redacted>` in
//! `Debug` output, and validation errors never repeat the rejected input.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationReason};

/// Longest accepted email address, as RFC 5321 bounds a forward path.
pub const EMAIL_MAX_LEN: usize = 254;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_LEN: usize = 12;
/// Longest accepted password, in bytes: hashing cost grows with length, so it is bounded.
pub const PASSWORD_MAX_LEN: usize = 128;

/// A normalised email address: trimmed and lower-cased, so `Ann@X.org` and `ann@x.org`
/// name one account.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address, reporting problems against the field `email`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_field("email", raw)
    }

    /// Parses and normalises an address, reporting problems against `field`.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let fail = |reason| Err(ValidationError::new(field, reason));
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return fail(ValidationReason::Empty);
        }
        if normalised.len() > EMAIL_MAX_LEN {
            return fail(ValidationReason::TooLong { max: EMAIL_MAX_LEN });
        }
        let Some((local, domain)) = normalised.split_once('@') else {
            return fail(ValidationReason::Malformed("must contain an @"));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return fail(ValidationReason::Malformed(
                "must have one @ with text on both sides",
            ));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return fail(ValidationReason::Malformed("domain must contain a dot"));
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return fail(ValidationReason::Malformed("must not contain spaces"));
        }
        Ok(Self(normalised))
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// Declares a trimmed, length-bounded text type with a redacting or plain `Debug`.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, field = $field:literal, max = $max:expr, allow_empty = $empty:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX_LEN: usize = $max;

            /// Parses a value, reporting problems against the default field name.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                Self::parse_field($field, raw)
            }

            /// Parses a value, reporting problems against `field`.
            pub fn parse_field(field: &str, raw: &str) -> Result<Self, ValidationError> {
                parse_bounded(field, raw, $max, $empty).map(Self)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }
    };
}

bounded_text!(
    /// A person's name as they want it shown. Identifies a person, so `Debug` redacts it.
    PersonName, field = "name", max = 100, allow_empty = false
);
bounded_text!(
    /// A doctor's specialty, such as "Cardiology".
    Specialty, field = "specialty", max = 60, allow_empty = false
);
bounded_text!(
    /// A short clinical title, such as a report's title or a drug name. Redacted in `Debug`.
    ShortText, field = "title", max = 200, allow_empty = false
);
bounded_text!(
    /// Clinical free text: a diagnosis, a treatment plan, a report body, a booking reason.
    /// Health information, so `Debug` redacts it.
    ClinicalText, field = "text", max = 10_000, allow_empty = true
);

impl Specialty {
    /// The specialty as plain text (not health information, so it may be shown freely).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number: digits with an optional leading `+`, spaces, dashes and brackets allowed
/// on input and dropped in the stored form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number, reporting problems against the field `phone`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let fail = |reason| Err(ValidationError::new("phone", reason));
        let trimmed = raw.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", trimmed),
        };
        if rest
            .chars()
            .any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')')))
        {
            return fail(ValidationReason::Malformed(
                "may hold only digits, spaces, dashes, brackets and a leading +",
            ));
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 5 {
            return fail(ValidationReason::TooShort { min: 5 });
        }
        if digits.len() > 15 {
            return fail(ValidationReason::TooLong { max: 15 });
        }
        Ok(Self(format!("{plus}{digits}")))
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

/// A password as typed, checked against the length rules. Kept in a [`SecretString`] so it
/// is wiped on drop and never printed.
pub struct Password(SecretString);

impl Password {
    /// Checks the length rules, reporting problems against the field `password`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let fail = |reason| Err(ValidationError::new("password", reason));
        if raw.len() > PASSWORD_MAX_LEN {
            return fail(ValidationReason::TooLong {
                max: PASSWORD_MAX_LEN,
            });
        }
        if raw.chars().count() < PASSWORD_MIN_LEN {
            return fail(ValidationReason::TooShort {
                min: PASSWORD_MIN_LEN,
            });
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

fn parse_bounded(
    field: &str,
    raw: &str,
    max: usize,
    allow_empty: bool,
) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() && !allow_empty {
        return Err(ValidationError::new(field, ValidationReason::Empty));
    }
    if trimmed.chars().count() > max {
        return Err(ValidationError::new(
            field,
            ValidationReason::TooLong { max },
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            ValidationReason::Malformed("must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_is_trimmed_and_case_insensitive() {
        let a = Email::parse("  Ann@X.org ").unwrap();
        let b = Email::parse("ann@x.org").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_ref(), "ann@x.org");
    }

    #[test]
    fn email_errors_name_the_field_and_not_the_input() {
        let err = Email::parse("secret-person.example.org").unwrap_err();
        assert_eq!(err.field(), "email");
        assert!(!err.to_string().contains("secret-person"));
    }

    #[test]
    fn sensitive_values_are_redacted_in_debug() {
        let name = PersonName::parse("Jane Roe").unwrap();
        let email = Email::parse("jane.roe@example.org").unwrap();
        let text = ClinicalText::parse("Hypertension stage 2").unwrap();
        let phone = PhoneNumber::parse("+49 30 1234567").unwrap();
        let password = Password::parse("correct horse battery").unwrap();
        let printed = format!("{name:?} {email:?} {text:?} {phone:?} {password:?}");
        for secret in ["Jane", "jane.roe", "Hypertension", "1234567", "horse"] {
            assert!(!printed.contains(secret), "{secret} leaked into {printed}");
        }
    }

    #[test]
    fn password_length_is_bounded_both_ways() {
        assert_eq!(
            Password::parse("short").unwrap_err().reason(),
            &ValidationReason::TooShort { min: 12 }
        );
        let long = "x".repeat(PASSWORD_MAX_LEN + 1);
        assert_eq!(
            Password::parse(&long).unwrap_err().reason(),
            &ValidationReason::TooLong { max: 128 }
        );
    }

    #[test]
    fn phone_keeps_only_digits_and_plus() {
        assert_eq!(
            PhoneNumber::parse("+1 (555) 010-9999").unwrap().as_ref(),
            "+15550109999"
        );
        assert!(PhoneNumber::parse("call me").is_err());
    }

    proptest! {
        #[test]
        fn parsed_emails_are_fixed_points(local in "[a-zA-Z0-9._%+-]{1,30}", host in "[a-zA-Z0-9-]{1,20}", tld in "[a-zA-Z]{2,6}") {
            let raw = format!("{local}@{host}.{tld}");
            let once = Email::parse(&raw).unwrap();
            let twice = Email::parse(once.as_ref()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn any_input_parses_or_fails_without_echoing(raw in ".{0,300}") {
            match Email::parse(&raw) {
                Ok(email) => prop_assert!(email.as_ref().contains('@')),
                Err(err) => prop_assert_eq!(err.field(), "email"),
            }
            if let Err(err) = PersonName::parse(&raw) {
                let message = err.to_string();
                prop_assert!(raw.trim().len() < 4 || !message.contains(raw.trim()));
            }
        }

        #[test]
        fn names_within_bounds_round_trip(raw in "[a-zA-Z][a-zA-Z '-]{0,98}[a-zA-Z]") {
            let name = PersonName::parse(&raw).unwrap();
            prop_assert_eq!(name.as_ref(), raw.trim());
        }
    }
}
