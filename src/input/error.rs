//! What can go wrong decoding an input, each class with its own message and hint.

use super::{names, shapes};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Nothing certificate-like in the input (text, random bytes).
    NoCertificate(String),
    /// Only private keys.
    OnlyKeys,
    /// A certificate that is broken.
    Invalid(String),
    /// A container (PKCS#12, PKCS#7, keystore, unknown binary) that is broken or refused.
    Container { kind: Container, msg: String },
    /// A certificate OpenSSL would refuse to load (a name or time field).
    Unloadable(names::Unloadable),
    /// PKCS#12 whose MAC or encryption does not match the password.
    WrongPassword { given: bool },
    /// A Java keystore (JKS/JCEKS) whose integrity digest does not match the given password.
    WrongKeystorePassword,
    /// A container entry anchorage cannot read (a JCEKS secret-key entry).
    Unsupported(String),
    /// PKCS#12 without a MAC whose encrypted certificates do not decrypt with the password.
    NoMacPassword { given: bool },
    /// PKCS#12 encrypted with an algorithm anchorage does not decrypt (its name).
    UnsupportedCipher(String),
    /// Something recognised by structure that is not a certificate (a CRL, a CSR, a key, …).
    NotACertificate { what: &'static str },
}

impl DecodeError {
    pub fn message(&self) -> String {
        match self {
            DecodeError::NoCertificate(why) => format!("no certificate found ({why})"),
            DecodeError::OnlyKeys => shapes::PRIVATE_KEY.into(),
            DecodeError::NotACertificate { what } => (*what).into(),
            DecodeError::Invalid(why) | DecodeError::Container { msg: why, .. } => why.clone(),
            DecodeError::Unloadable(u) => u.message(),
            DecodeError::WrongPassword { given: true } => {
                "wrong PKCS#12 password (the MAC does not verify)".into()
            }
            DecodeError::WrongPassword { given: false } => {
                "PKCS#12 is password-protected and the empty password does not open it".into()
            }
            DecodeError::WrongKeystorePassword => {
                "wrong keystore password, or the keystore was modified (its integrity digest does not verify)".into()
            }
            DecodeError::Unsupported(why) => why.clone(),
            DecodeError::NoMacPassword { given: true } => {
                "wrong PKCS#12 password (the file has no MAC and its encrypted certificates do not decrypt)".into()
            }
            DecodeError::NoMacPassword { given: false } => {
                "PKCS#12 has no MAC and its certificates are encrypted: a password is needed (the empty password does not decrypt them)".into()
            }
            DecodeError::UnsupportedCipher(name) => {
                format!("PKCS#12 is encrypted with {name}, which anchorage does not decrypt")
            }
        }
    }

    pub fn hint(&self) -> String {
        match self {
            DecodeError::NoCertificate(_) => {
                "give a PEM, DER, PKCS#7 (.p7b), PKCS#12 (.p12/.pfx) or Java keystore (JKS/JCEKS) file that holds a certificate".into()
            }
            DecodeError::OnlyKeys => "give the CA certificate, not its private key".into(),
            DecodeError::NotACertificate { what } => shapes::hint(what),
            DecodeError::Unloadable(u) => u.hint(),
            DecodeError::Invalid(_) => {
                "check that the file is complete (for example `openssl x509 -in FILE -noout -text`)".into()
            }
            DecodeError::Container { kind, .. } => kind.hint().into(),
            DecodeError::UnsupportedCipher(_) => {
                "convert it to PEM with `openssl pkcs12 -in FILE -nokeys -out ca.pem` (add -legacy for old ciphers) and give ca.pem".into()
            }
            DecodeError::WrongPassword { .. } | DecodeError::NoMacPassword { .. } => {
                "give the password with --password-file FILE or the ANCHORAGE_PASSWORD variable".into()
            }
            DecodeError::WrongKeystorePassword => {
                "give the keystore's store password with --password-file FILE or the ANCHORAGE_PASSWORD variable (Java's default is changeit)".into()
            }
            DecodeError::Unsupported(_) => {
                "convert the keystore to PKCS#12 first: keytool -importkeystore -srckeystore FILE -destkeystore FILE.p12 -deststoretype pkcs12".into()
            }
        }
    }
}

/// Which kind of container a `DecodeError::Container` is about (its hint depends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Pkcs12,
    /// A PKCS#12 asking for more key-derivation work than anchorage allows.
    Pkcs12Work,
    /// A PKCS#12 the decryption library cannot read (an algorithm it does not support).
    Pkcs12Unreadable,
    Pkcs7,
    Keystore,
    /// Binary data that is none of the supported formats.
    Binary,
}

impl Container {
    fn hint(self) -> &'static str {
        match self {
            Container::Pkcs12Work => "re-export the PKCS#12 with ordinary settings (`openssl pkcs12 -export`, default iterations)",
            Container::Pkcs12Unreadable => "see what it uses with `openssl pkcs12 -info -nokeys -in FILE` (add -legacy for RC2/3DES); re-export it with OpenSSL 3's defaults, or give the CA certificate as PEM",
            Container::Pkcs12 => "check the file with `openssl pkcs12 -info -nokeys -in FILE`",
            Container::Pkcs7 => "check that the file is complete (for example `openssl pkcs7 -in FILE -print_certs -noout`)",
            Container::Keystore => "check the keystore with `keytool -list -v -keystore FILE`",
            Container::Binary => "give a PEM, DER, PKCS#7, PKCS#12 or Java keystore file that holds a certificate (a truncated download?)",
        }
    }
}
