//! Time-based one-time passwords for authd (RFC 6238: HMAC-SHA-1, 6
//! digits, 30-second steps, as Google Authenticator, 1Password, Aegis and
//! the others compute them), with `totp-rs`; the enrolment's QR code as
//! an SVG, with `qrcode`.

use domain::{TimeStep, TotpSecret};
use ports::{TotpAuthenticator, TotpEnrolment, TotpError};
use qrcode::{QrCode, render::svg};
use rand::{RngCore as _, rngs::OsRng};
use secrecy::SecretString;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Totp};

/// How many digits a code has.
const DIGITS: u8 = 6;
/// Steps either side of now whose codes are accepted (clocks drift).
const SKEW: u16 = 1;
/// The length of a step, in seconds.
const STEP_SECONDS: u64 = 30;

/// The TOTP of authd: codes of 6 digits for 30-second steps, accepted one
/// step either side of now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc6238;

fn builder(secret: &[u8], digits: u8) -> Builder {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(SKEW)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
}

/// A generator of codes of `digits` digits for `secret`, or `None` for a
/// secret the RFC refuses (shorter than 128 bits).
fn generator(secret: &[u8], digits: u8) -> Option<Totp> {
    builder(secret, digits).build().ok()
}

impl TotpAuthenticator for Rfc6238 {
    fn new_secret(&self) -> TotpSecret {
        let mut bytes = vec![0_u8; TotpSecret::LEN];
        OsRng.fill_bytes(&mut bytes);
        TotpSecret::from_bytes(bytes)
            .unwrap_or_else(|| unreachable!("a secret of TotpSecret::LEN bytes"))
    }

    fn enrolment(
        &self,
        secret: &TotpSecret,
        account: &str,
        issuer: &str,
    ) -> Result<TotpEnrolment, TotpError> {
        // A colon separates issuer and account in the URI's label.
        let issuer = issuer.replace(':', " ");
        let account = account.replace(':', " ");
        let totp = builder(secret.as_bytes(), DIGITS)
            .with_issuer(Some(issuer))
            .with_account_name(account)
            .build()
            .map_err(|e| TotpError(e.to_string()))?;
        let uri = totp.to_url().map_err(|e| TotpError(e.to_string()))?;
        let qr_svg = QrCode::new(uri.as_bytes())
            .map_err(|e| TotpError(e.to_string()))?
            .render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build();
        Ok(TotpEnrolment {
            secret: SecretString::from(totp.secret().to_base32()),
            otpauth_uri: SecretString::from(uri),
            qr_svg: SecretString::from(qr_svg),
        })
    }

    fn step_of(&self, secret: &TotpSecret, code: &str, now: OffsetDateTime) -> Option<TimeStep> {
        let time = u64::try_from(now.unix_timestamp()).ok()?;
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        generator(secret.as_bytes(), DIGITS)?
            .check(&code, time)
            .map(TimeStep)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    /// The secret of RFC 6238's test vectors for SHA-1.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    /// RFC 6238, Appendix B: SHA-1, 8 digits, 30-second steps.
    #[test]
    fn the_rfc_6238_test_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let eight = generator(RFC_SECRET, 8).unwrap();
        for (time, code) in vectors {
            assert_eq!(eight.generate(time).to_string(), code, "at {time}");
        }
        // Six digits are the same codes, truncated (RFC 4226, 5.3).
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec()).unwrap();
        for (time, code) in vectors {
            let step = time / 30;
            assert_eq!(
                Rfc6238.step_of(&secret, &code[2..], at(i64::try_from(time).unwrap())),
                Some(TimeStep(step)),
                "at {time}"
            );
        }
    }

    #[test]
    fn a_code_is_good_for_its_step_and_one_either_side() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec()).unwrap();
        let code = "081804"; // the step of 1111111109
        let step = 1_111_111_109 / 30;
        for (offset, expected) in [
            (-60, None),
            (-30, Some(step)),
            (0, Some(step)),
            (30, Some(step)),
            (60, None),
        ] {
            assert_eq!(
                Rfc6238.step_of(&secret, code, at(1_111_111_109 + offset)),
                expected.map(TimeStep),
                "{offset:+} s"
            );
        }
        assert_eq!(
            Rfc6238.step_of(&secret, " 081 804 ", at(1_111_111_109)),
            Some(TimeStep(step)),
            "spaces, as apps show codes, are ignored"
        );
        for wrong in ["081805", "81804", "0818044", "abcdef", ""] {
            assert_eq!(Rfc6238.step_of(&secret, wrong, at(1_111_111_109)), None);
        }
    }

    #[test]
    fn an_enrolment_names_the_product_and_the_account() {
        let secret = Rfc6238.new_secret();
        assert_eq!(secret.as_bytes().len(), 20);
        assert_ne!(Rfc6238.new_secret().as_bytes(), secret.as_bytes());
        let enrolment = Rfc6238
            .enrolment(&secret, "ada@example.com", "Engines: Portal")
            .unwrap();
        let base32 = enrolment.secret.expose_secret();
        assert_eq!(base32.len(), 32, "160 bits of base32");
        let uri = enrolment.otpauth_uri.expose_secret();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("ada%40example.com"), "{uri}");
        assert!(uri.contains(&format!("secret={base32}")), "{uri}");
        assert!(uri.contains("issuer=Engines%20%20Portal"), "{uri}");
        let svg = enrolment.qr_svg.expose_secret();
        assert!(
            svg.contains("<svg") && svg.contains("</svg>"),
            "an SVG document"
        );
        assert_eq!(format!("{enrolment:?}"), "TotpEnrolment(***)");
    }
}
