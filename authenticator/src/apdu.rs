//! Pure APDU building and parsing for the card profile (docs/card-protocol.md §1).
//!
//! No PC/SC types here: everything is bytes in, bytes out, so it is tested with
//! byte fixtures and shared by the authenticator and the virtual card.

use std::fmt;

/// AID of the NHI card's public applet.
pub const NHI_AID: [u8; 16] = [
    0xD1, 0x58, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00,
];
/// File identifier of the card certificate (`C0 01`).
pub const CERTIFICATE_FILE_ID: [u8; 2] = [0xC0, 0x01];
/// Length of the basic data record (§1.1).
pub const BASIC_DATA_LEN: usize = 57;
/// Length of an ECDSA P-256 signature `r ‖ s`.
pub const SIGNATURE_LEN: usize = 64;
/// Length of the hash the card signs.
pub const HASH_LEN: usize = 32;
/// Largest offset READ BINARY can address with a short EF (P1 bit 8 clear).
pub const MAX_READ_OFFSET: usize = 0x7FFF;

pub const INS_SELECT: u8 = 0xA4;
pub const INS_GET_DATA: u8 = 0xCA;
pub const INS_READ_BINARY: u8 = 0xB0;
pub const INS_VERIFY: u8 = 0x20;
pub const INS_PSO: u8 = 0x2A;

/// A status word (SW1 SW2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusWord(pub u8, pub u8);

impl StatusWord {
    pub const OK: Self = Self(0x90, 0x00);
    /// Instruction not supported.
    pub const UNKNOWN_INSTRUCTION: Self = Self(0x6D, 0x00);
    /// Wrong parameters P1-P2.
    pub const WRONG_PARAMETERS: Self = Self(0x6A, 0x86);
    /// Wrong length (Lc or the command's length).
    pub const WRONG_LENGTH: Self = Self(0x67, 0x00);
    /// Security status not satisfied (PIN not verified).
    pub const SECURITY_NOT_SATISFIED: Self = Self(0x69, 0x82);
    /// Authentication method blocked (PIN blocked).
    pub const PIN_BLOCKED: Self = Self(0x69, 0x83);
    /// Offset outside the file (READ BINARY past the end).
    pub const WRONG_OFFSET: Self = Self(0x6B, 0x00);
    /// File or application not found (not in the profile's table; standard ISO 7816-4).
    pub const FILE_NOT_FOUND: Self = Self(0x6A, 0x82);
    /// Conditions of use not satisfied (READ BASIC DATA before SELECT; ISO 7816-4).
    pub const CONDITIONS_NOT_SATISFIED: Self = Self(0x69, 0x85);
    /// Command not allowed, no current EF (READ BINARY before SELECT; ISO 7816-4).
    pub const NO_CURRENT_EF: Self = Self(0x69, 0x86);
    /// Class not supported.
    pub const CLASS_NOT_SUPPORTED: Self = Self(0x6E, 0x00);

    /// `63 Cx`: wrong PIN, x tries left.
    pub fn pin_tries_left(tries: u8) -> Self {
        Self(0x63, 0xC0 | (tries & 0x0F))
    }

    /// The number of tries left when this is `63 Cx`.
    pub fn tries_left(self) -> Option<u8> {
        (self.0 == 0x63 && self.1 & 0xF0 == 0xC0).then_some(self.1 & 0x0F)
    }

    pub fn is_ok(self) -> bool {
        self == Self::OK
    }

    pub fn bytes(self) -> [u8; 2] {
        [self.0, self.1]
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X}", self.0, self.1)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Errors from parsing APDUs and card data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    #[error("response APDU shorter than its 2-byte status word")]
    ShortResponse,
    #[error("command APDU is malformed: {0}")]
    MalformedCommand(&'static str),
    #[error("basic data is {0} bytes, expected 57")]
    BasicDataLength(usize),
    #[error("basic data field {field} is invalid: {reason}")]
    BasicDataField { field: &'static str, reason: String },
    #[error("date {0:?} is not a valid date")]
    Date(String),
}

// ---------------------------------------------------------------------------
// Command builders
// ---------------------------------------------------------------------------

/// `00 A4 04 00 10 <NHI AID>` (the AID ends in `11 00`; no Le).
pub fn select_nhi_applet() -> Vec<u8> {
    let mut apdu = vec![0x00, INS_SELECT, 0x04, 0x00, 0x10];
    apdu.extend_from_slice(&NHI_AID);
    apdu
}

/// `00 CA 11 00 02 00 00`
pub fn read_basic_data() -> Vec<u8> {
    vec![0x00, INS_GET_DATA, 0x11, 0x00, 0x02, 0x00, 0x00]
}

/// `00 A4 02 0C 02 C0 01`
pub fn select_certificate_file() -> Vec<u8> {
    let mut apdu = vec![0x00, INS_SELECT, 0x02, 0x0C, 0x02];
    apdu.extend_from_slice(&CERTIFICATE_FILE_ID);
    apdu
}

/// `00 B0 <offset hi> <offset lo> <Le>`; `le == 0` asks for 256 bytes.
/// Returns `None` when the offset does not fit in 15 bits.
pub fn read_binary(offset: usize, le: u8) -> Option<Vec<u8>> {
    if offset > MAX_READ_OFFSET {
        return None;
    }
    let [hi, lo] = u16::try_from(offset).ok()?.to_be_bytes();
    Some(vec![0x00, INS_READ_BINARY, hi, lo, le])
}

/// `00 20 00 01 <Lc> <PIN ASCII>`. Carries a PIN: never log the result.
/// Returns `None` for a PIN longer than 255 bytes.
pub fn verify_pin(pin: &[u8]) -> Option<Vec<u8>> {
    let lc = u8::try_from(pin.len()).ok()?;
    let mut apdu = vec![0x00, INS_VERIFY, 0x00, 0x01, lc];
    apdu.extend_from_slice(pin);
    Some(apdu)
}

/// `00 2A 9E 9A 20 <32-byte hash> 00`
pub fn sign(hash: &[u8; HASH_LEN]) -> Vec<u8> {
    let mut apdu = vec![0x00, INS_PSO, 0x9E, 0x9A, 0x20];
    apdu.extend_from_slice(hash);
    apdu.push(0x00);
    apdu
}

// ---------------------------------------------------------------------------
// Response and command parsing
// ---------------------------------------------------------------------------

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw1: u8,
    pub sw2: u8,
}

impl Response {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        match bytes {
            [data @ .., sw1, sw2] => Ok(Self {
                data: data.to_vec(),
                sw1: *sw1,
                sw2: *sw2,
            }),
            _ => Err(ApduError::ShortResponse),
        }
    }

    pub fn status(&self) -> StatusWord {
        StatusWord(self.sw1, self.sw2)
    }

    pub fn is_ok(&self) -> bool {
        self.status().is_ok()
    }

    /// Bytes of a response: `data ‖ sw1 sw2`.
    pub fn encode(data: &[u8], sw: StatusWord) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 2);
        out.extend_from_slice(data);
        out.extend_from_slice(&sw.bytes());
        out
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data_len", &self.data.len())
            .field("status", &self.status())
            .finish()
    }
}

/// A parsed short command APDU (ISO 7816-4 cases 1–4).
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Expected response length; `Some(0)` means 256.
    pub le: Option<u8>,
}

impl Command {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let (header, body) = bytes
            .split_first_chunk::<4>()
            .ok_or(ApduError::MalformedCommand("shorter than 4 bytes"))?;
        let [cla, ins, p1, p2] = *header;
        let (data, le) = match body {
            [] => (Vec::new(), None),
            [le] => (Vec::new(), Some(*le)),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 {
                    return Err(ApduError::MalformedCommand("Lc is 0"));
                }
                match rest.len().checked_sub(lc) {
                    Some(0) => (rest.to_vec(), None),
                    Some(1) => {
                        let (data, le) = rest.split_at(lc);
                        (data.to_vec(), le.first().copied())
                    }
                    _ => return Err(ApduError::MalformedCommand("Lc does not match the length")),
                }
            }
        };
        Ok(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        })
    }

    /// The expected length as a number of bytes (`Le = 00` is 256).
    pub fn le_len(&self) -> Option<usize> {
        self.le
            .map(|le| if le == 0 { 256 } else { usize::from(le) })
    }
}

impl fmt::Debug for Command {
    // The data may be a PIN: only its length is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command {{ {:02X} {:02X} {:02X} {:02X}, data: {} bytes, le: {:?} }}",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

// ---------------------------------------------------------------------------
// Basic data (§1.1)
// ---------------------------------------------------------------------------

/// The 57-byte basic data of the NHI public applet, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicData {
    /// 12 ASCII digits.
    pub card_number: String,
    /// Decoded from Big5, padding trimmed.
    pub name: String,
    pub national_id: String,
    /// ISO `yyyy-mm-dd`, converted from the card's ROC date.
    pub birth_date: String,
    /// `M` or `F`.
    pub sex: String,
    /// ISO `yyyy-mm-dd`, converted from the card's ROC date.
    pub issue_date: String,
}

impl fmt::Debug for BasicData {
    // Personal data: only the card number is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicData")
            .field("card_number", &self.card_number)
            .finish_non_exhaustive()
    }
}

const NAME_RANGE: std::ops::Range<usize> = 12..32;

impl BasicData {
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let bytes: &[u8; BASIC_DATA_LEN] = bytes
            .try_into()
            .map_err(|_| ApduError::BasicDataLength(bytes.len()))?;
        let (card_number, rest) = bytes.split_at(12);
        let (name, rest) = rest.split_at(20);
        let (national_id, rest) = rest.split_at(10);
        let (birth, rest) = rest.split_at(7);
        let (sex, issue) = rest.split_at(1);

        let card_number = ascii_field("card_number", card_number)?;
        if card_number.len() != 12 || !card_number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(field_error("card_number", "not 12 digits"));
        }
        let (name_text, _, had_errors) = encoding_rs::BIG5.decode(trim_padding(name));
        if had_errors {
            return Err(field_error("name", "not valid Big5"));
        }
        let sex = ascii_field("sex", sex)?;
        Ok(Self {
            card_number,
            name: name_text.trim().to_owned(),
            national_id: ascii_field("national_id", national_id)?,
            birth_date: roc_to_iso(&ascii_field("birth_date", birth)?)?,
            sex,
            issue_date: roc_to_iso(&ascii_field("issue_date", issue)?)?,
        })
    }

    /// The 57 bytes a card returns (used by the virtual card).
    pub fn encode(&self) -> Result<Vec<u8>, ApduError> {
        let mut out = vec![0x20; BASIC_DATA_LEN];
        put_ascii(&mut out, 0, 12, "card_number", &self.card_number)?;
        let (name, _, had_errors) = encoding_rs::BIG5.encode(&self.name);
        if had_errors {
            return Err(field_error("name", "has characters Big5 cannot encode"));
        }
        if name.len() > NAME_RANGE.len() {
            return Err(field_error("name", "longer than 20 bytes in Big5"));
        }
        let slot = out
            .get_mut(NAME_RANGE)
            .ok_or_else(|| field_error("name", "layout"))?;
        slot.fill(0x00);
        slot.iter_mut().zip(name.iter()).for_each(|(d, s)| *d = *s);
        put_ascii(&mut out, 32, 10, "national_id", &self.national_id)?;
        put_ascii(
            &mut out,
            42,
            7,
            "birth_date",
            &iso_to_roc(&self.birth_date)?,
        )?;
        put_ascii(&mut out, 49, 1, "sex", &self.sex)?;
        put_ascii(
            &mut out,
            50,
            7,
            "issue_date",
            &iso_to_roc(&self.issue_date)?,
        )?;
        Ok(out)
    }
}

fn field_error(field: &'static str, reason: &str) -> ApduError {
    ApduError::BasicDataField {
        field,
        reason: reason.to_owned(),
    }
}

fn trim_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| *b != 0x00 && *b != 0x20)
        .map_or(0, |i| i + 1);
    bytes.get(..end).unwrap_or_default()
}

fn ascii_field(field: &'static str, bytes: &[u8]) -> Result<String, ApduError> {
    let trimmed = trim_padding(bytes);
    if !trimmed.iter().all(|b| b.is_ascii_graphic()) {
        return Err(field_error(field, "not printable ASCII"));
    }
    Ok(String::from_utf8_lossy(trimmed).into_owned())
}

fn put_ascii(
    out: &mut [u8],
    at: usize,
    len: usize,
    field: &'static str,
    value: &str,
) -> Result<(), ApduError> {
    if value.len() != len || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(field_error(field, "wrong length or not ASCII"));
    }
    let slot = out
        .get_mut(at..at + len)
        .ok_or_else(|| field_error(field, "layout"))?;
    slot.copy_from_slice(value.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------
// ROC dates
// ---------------------------------------------------------------------------

/// The ROC (民國) year is the Gregorian year minus 1911.
pub const ROC_OFFSET: u32 = 1911;

/// `yyyMMdd` (ROC) → `yyyy-mm-dd` (ISO). `0690102` → `1980-01-02`.
pub fn roc_to_iso(roc: &str) -> Result<String, ApduError> {
    let bad = || ApduError::Date(roc.to_owned());
    if roc.len() != 7 || !roc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: u32 = roc.get(0..3).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let month: u32 = roc.get(3..5).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let day: u32 = roc.get(5..7).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let year = year + ROC_OFFSET;
    check_date(year, month, day).ok_or_else(bad)?;
    Ok(format!("{year:04}-{month:02}-{day:02}"))
}

/// `yyyy-mm-dd` (ISO) → `yyyMMdd` (ROC). Years before 1912 have no ROC date.
pub fn iso_to_roc(iso: &str) -> Result<String, ApduError> {
    let bad = || ApduError::Date(iso.to_owned());
    let mut parts = iso.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let year: u32 = y.parse().map_err(|_| bad())?;
    let month: u32 = m.parse().map_err(|_| bad())?;
    let day: u32 = d.parse().map_err(|_| bad())?;
    check_date(year, month, day).ok_or_else(bad)?;
    let roc_year = year
        .checked_sub(ROC_OFFSET)
        .filter(|y| (1..=999).contains(y))
        .ok_or_else(bad)?;
    Ok(format!("{roc_year:03}{month:02}{day:02}"))
}

fn check_date(year: u32, month: u32, day: u32) -> Option<()> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANG_BIG5: [u8; 6] = [0xA4, 0xFD, 0xA4, 0x70, 0xA9, 0xFA];

    fn basic_data_fixture() -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"000012345678");
        bytes.extend_from_slice(&WANG_BIG5);
        bytes.extend_from_slice(&[0x00; 14]);
        bytes.extend_from_slice(b"A123456789");
        bytes.extend_from_slice(b"0690102");
        bytes.extend_from_slice(b"M");
        bytes.extend_from_slice(b"1130506");
        bytes
    }

    #[test]
    fn select_nhi_applet_matches_the_profile_bytes() {
        assert_eq!(
            select_nhi_applet(),
            [
                0x00, 0xA4, 0x04, 0x00, 0x10, 0xD1, 0x58, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00
            ]
        );
    }

    #[test]
    fn read_basic_data_matches_the_profile_bytes() {
        assert_eq!(
            read_basic_data(),
            [0x00, 0xCA, 0x11, 0x00, 0x02, 0x00, 0x00]
        );
    }

    #[test]
    fn select_certificate_file_matches_the_profile_bytes() {
        assert_eq!(
            select_certificate_file(),
            [0x00, 0xA4, 0x02, 0x0C, 0x02, 0xC0, 0x01]
        );
    }

    #[test]
    fn read_binary_encodes_offset_big_endian() {
        assert_eq!(
            read_binary(0, 0xF0),
            Some(vec![0x00, 0xB0, 0x00, 0x00, 0xF0])
        );
        assert_eq!(
            read_binary(0x01E0, 0x80),
            Some(vec![0x00, 0xB0, 0x01, 0xE0, 0x80])
        );
        assert_eq!(read_binary(0x8000, 0x10), None);
    }

    #[test]
    fn verify_pin_carries_lc_and_ascii_pin() {
        assert_eq!(
            verify_pin(b"1234"),
            Some(vec![0x00, 0x20, 0x00, 0x01, 0x04, 0x31, 0x32, 0x33, 0x34])
        );
    }

    #[test]
    fn sign_wraps_the_32_byte_hash() {
        let hash = [0xAB; 32];
        let apdu = sign(&hash);
        assert_eq!(&apdu[..5], &[0x00, 0x2A, 0x9E, 0x9A, 0x20]);
        assert_eq!(&apdu[5..37], &hash);
        assert_eq!(apdu[37], 0x00);
        assert_eq!(apdu.len(), 38);
    }

    #[test]
    fn response_splits_data_and_status_word() {
        let r = Response::parse(&[0x01, 0x02, 0x90, 0x00]).unwrap();
        assert_eq!(r.data, [0x01, 0x02]);
        assert!(r.is_ok());
        let r = Response::parse(&[0x6B, 0x00]).unwrap();
        assert!(r.data.is_empty());
        assert_eq!(r.status(), StatusWord::WRONG_OFFSET);
        assert_eq!(Response::parse(&[0x90]), Err(ApduError::ShortResponse));
        assert_eq!(Response::encode(&[7], StatusWord::OK), [7, 0x90, 0x00]);
    }

    #[test]
    fn status_words_have_profile_values() {
        assert_eq!(StatusWord::UNKNOWN_INSTRUCTION.bytes(), [0x6D, 0x00]);
        assert_eq!(StatusWord::WRONG_PARAMETERS.bytes(), [0x6A, 0x86]);
        assert_eq!(StatusWord::WRONG_LENGTH.bytes(), [0x67, 0x00]);
        assert_eq!(StatusWord::SECURITY_NOT_SATISFIED.bytes(), [0x69, 0x82]);
        assert_eq!(StatusWord::PIN_BLOCKED.bytes(), [0x69, 0x83]);
        assert_eq!(StatusWord::WRONG_OFFSET.bytes(), [0x6B, 0x00]);
        assert_eq!(StatusWord::pin_tries_left(2).bytes(), [0x63, 0xC2]);
        assert_eq!(StatusWord(0x63, 0xC1).tries_left(), Some(1));
        assert_eq!(StatusWord::OK.tries_left(), None);
        assert_eq!(format!("{}", StatusWord(0x6A, 0x86)), "6A 86");
    }

    #[test]
    fn command_parse_handles_the_four_cases() {
        let c = Command::parse(&[0x00, 0xA4, 0x02, 0x0C]).unwrap();
        assert!(c.data.is_empty() && c.le.is_none());
        let c = Command::parse(&[0x00, 0xB0, 0x00, 0x10, 0x00]).unwrap();
        assert_eq!(c.le_len(), Some(256));
        let c = Command::parse(&select_certificate_file()).unwrap();
        assert_eq!(c.data, CERTIFICATE_FILE_ID);
        assert_eq!(c.le, None);
        let c = Command::parse(&select_nhi_applet()).unwrap();
        assert_eq!(c.data, NHI_AID);
        assert_eq!(c.le, None);
        let c = Command::parse(&sign(&[1; 32])).unwrap();
        assert_eq!(c.data, [1; 32]);
        assert_eq!(c.le, Some(0));
        assert!(Command::parse(&[0x00, 0x2A, 0x9E]).is_err());
        assert!(Command::parse(&[0x00, 0x2A, 0x9E, 0x9A, 0x20, 0x01]).is_err());
    }

    #[test]
    fn command_debug_never_shows_pin_bytes() {
        let c = Command::parse(&verify_pin(b"987654").unwrap()).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("39") && !shown.contains("987654"),
            "{shown}"
        );
        assert!(shown.contains("6 bytes"));
    }

    #[test]
    fn big5_fixture_decodes_to_wang_xiaoming() {
        let (name, _, errors) = encoding_rs::BIG5.decode(&WANG_BIG5);
        assert!(!errors);
        assert_eq!(name, "王小明");
        let (encoded, _, errors) = encoding_rs::BIG5.encode("王小明");
        assert!(!errors);
        assert_eq!(&*encoded, &WANG_BIG5);
    }

    #[test]
    fn basic_data_parses_the_57_byte_layout() {
        let data = BasicData::parse(&basic_data_fixture()).unwrap();
        assert_eq!(data.card_number, "000012345678");
        assert_eq!(data.name, "王小明");
        assert_eq!(data.national_id, "A123456789");
        assert_eq!(data.birth_date, "1980-01-02");
        assert_eq!(data.sex, "M");
        assert_eq!(data.issue_date, "2024-05-06");
    }

    #[test]
    fn basic_data_name_padded_with_spaces_is_trimmed() {
        let mut bytes = basic_data_fixture();
        bytes[18..32].fill(0x20);
        assert_eq!(BasicData::parse(&bytes).unwrap().name, "王小明");
    }

    #[test]
    fn basic_data_encode_round_trips() {
        let data = BasicData::parse(&basic_data_fixture()).unwrap();
        assert_eq!(data.encode().unwrap(), basic_data_fixture());
    }

    #[test]
    fn basic_data_rejects_wrong_length_and_bad_fields() {
        assert_eq!(
            BasicData::parse(&[0; 56]),
            Err(ApduError::BasicDataLength(56))
        );
        let mut bytes = basic_data_fixture();
        bytes[0] = b'X';
        assert!(BasicData::parse(&bytes).is_err());
        let mut bytes = basic_data_fixture();
        bytes[45] = b'9'; // birth month 90
        assert!(BasicData::parse(&bytes).is_err());
    }

    #[test]
    fn basic_data_debug_hides_personal_fields() {
        let data = BasicData::parse(&basic_data_fixture()).unwrap();
        let shown = format!("{data:?}");
        assert!(!shown.contains("A123456789") && !shown.contains("王小明"));
    }

    #[test]
    fn roc_dates_convert_both_ways() {
        assert_eq!(roc_to_iso("0690102").unwrap(), "1980-01-02");
        assert_eq!(roc_to_iso("1130506").unwrap(), "2024-05-06");
        assert_eq!(roc_to_iso("0890229").unwrap(), "2000-02-29");
        assert!(roc_to_iso("0880229").is_err()); // 1999 is not a leap year
        assert!(roc_to_iso("113056").is_err());
        assert!(roc_to_iso("11305a6").is_err());
        assert_eq!(iso_to_roc("1980-01-02").unwrap(), "0690102");
        assert_eq!(iso_to_roc("2024-05-06").unwrap(), "1130506");
        assert!(iso_to_roc("1900-01-01").is_err());
        assert!(iso_to_roc("2024-13-01").is_err());
        assert!(iso_to_roc("2024-5-6").is_err());
    }
}
