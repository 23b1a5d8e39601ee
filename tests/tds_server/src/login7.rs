//! LOGIN7 (MS-TDS 2.2.6.4): the fixed header, the offset/length variable fields, password
//! de-obfuscation, and the FeatureExt list (read only to be skipped: no feature is acked).

use crate::wire::{decode_utf16le, Reader};

/// OptionFlags3 fExtension: ibExtension points at the FeatureExt offset.
const FLAG3_EXTENSION: u8 = 0x10;
const FEATURE_TERMINATOR: u8 = 0xFF;
/// Size of the fixed part up to and including cbSSPILong (TDS 7.2+).
const FIXED_LEN: usize = 94;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login7 {
    pub tds_version: u32,
    pub packet_size: u32,
    pub client_prog_version: u32,
    pub client_pid: u32,
    pub connection_id: u32,
    pub option_flags1: u8,
    pub option_flags2: u8,
    pub type_flags: u8,
    pub option_flags3: u8,
    pub client_time_zone: i32,
    pub client_lcid: u32,
    pub host_name: String,
    pub user_name: String,
    pub password: String,
    pub app_name: String,
    pub server_name: String,
    pub client_interface_name: String,
    pub language: String,
    pub database: String,
    pub client_id: [u8; 6],
    pub sspi: Vec<u8>,
    pub attach_db_file: String,
    pub change_password: String,
    /// FeatureIds of the FeatureExt block, in order (all ignored by the server).
    pub feature_ids: Vec<u8>,
}

/// Reverses the LOGIN7 password obfuscation: XOR 0xA5, then swap the nibbles.
pub fn deobfuscate_password(bytes: &[u8]) -> String {
    let plain: Vec<u8> = bytes.iter().map(|b| (b ^ 0xA5).rotate_left(4)).collect();
    decode_utf16le(&plain)
}

pub fn parse(payload: &[u8]) -> Result<Login7, String> {
    if payload.len() < FIXED_LEN {
        return Err(format!("LOGIN7 is {} bytes, shorter than its {FIXED_LEN}-byte fixed part", payload.len()));
    }
    let mut r = Reader::new(payload);
    let declared_len = r.u32_le("LOGIN7 Length")? as usize;
    if declared_len > payload.len() {
        return Err(format!("LOGIN7 Length {declared_len} exceeds the {} bytes received", payload.len()));
    }
    let tds_version = r.u32_le("TDSVersion")?;
    let packet_size = r.u32_le("PacketSize")?;
    let client_prog_version = r.u32_le("ClientProgVer")?;
    let client_pid = r.u32_le("ClientPID")?;
    let connection_id = r.u32_le("ConnectionID")?;
    let option_flags1 = r.u8("OptionFlags1")?;
    let option_flags2 = r.u8("OptionFlags2")?;
    let type_flags = r.u8("TypeFlags")?;
    let option_flags3 = r.u8("OptionFlags3")?;
    let client_time_zone = r.u32_le("ClientTimeZone")? as i32;
    let client_lcid = r.u32_le("ClientLCID")?;

    let text = |r: &mut Reader, what: &str| -> Result<String, String> {
        let offset = r.u16_le(what)? as usize;
        let chars = r.u16_le(what)? as usize;
        slice(payload, offset, chars * 2, what).map(decode_utf16le)
    };
    let host_name = text(&mut r, "HostName")?;
    let user_name = text(&mut r, "UserName")?;
    let password_offset = r.u16_le("Password")? as usize;
    let password_chars = r.u16_le("Password")? as usize;
    let password = deobfuscate_password(slice(payload, password_offset, password_chars * 2, "Password")?);
    let app_name = text(&mut r, "AppName")?;
    let server_name = text(&mut r, "ServerName")?;
    let extension_offset = r.u16_le("ibExtension")? as usize;
    let extension_len = r.u16_le("cbExtension")? as usize;
    let client_interface_name = text(&mut r, "CltIntName")?;
    let language = text(&mut r, "Language")?;
    let database = text(&mut r, "Database")?;
    let mut client_id = [0u8; 6];
    client_id.copy_from_slice(r.bytes(6, "ClientID")?);
    let sspi_offset = r.u16_le("ibSSPI")? as usize;
    let sspi_len = r.u16_le("cbSSPI")? as usize;
    let sspi = slice(payload, sspi_offset, sspi_len, "SSPI")?.to_vec();
    let attach_db_file = text(&mut r, "AtchDBFile")?;
    let change_password_offset = r.u16_le("ChangePassword")? as usize;
    let change_password_chars = r.u16_le("ChangePassword")? as usize;
    let change_password =
        deobfuscate_password(slice(payload, change_password_offset, change_password_chars * 2, "ChangePassword")?);

    let feature_ids = if option_flags3 & FLAG3_EXTENSION != 0 && extension_len >= 4 {
        let pointer = slice(payload, extension_offset, 4, "ibExtension")?;
        let feature_offset = u32::from_le_bytes([pointer[0], pointer[1], pointer[2], pointer[3]]) as usize;
        feature_ids(payload.get(feature_offset..).ok_or("FeatureExt offset outside LOGIN7")?)?
    } else {
        Vec::new()
    };

    Ok(Login7 {
        tds_version,
        packet_size,
        client_prog_version,
        client_pid,
        connection_id,
        option_flags1,
        option_flags2,
        type_flags,
        option_flags3,
        client_time_zone,
        client_lcid,
        host_name,
        user_name,
        password,
        app_name,
        server_name,
        client_interface_name,
        language,
        database,
        client_id,
        sspi,
        attach_db_file,
        change_password,
        feature_ids,
    })
}

fn slice<'a>(payload: &'a [u8], offset: usize, len: usize, what: &str) -> Result<&'a [u8], String> {
    if len == 0 {
        return Ok(&[]);
    }
    payload.get(offset..offset + len).ok_or_else(|| format!("LOGIN7 {what} ({offset}+{len}) lies outside the message"))
}

/// FeatureExt: (FeatureId BYTE, FeatureDataLen DWORD, data)* then 0xFF.
fn feature_ids(block: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = Reader::new(block);
    let mut ids = Vec::new();
    loop {
        let id = r.u8("FeatureExt FeatureId")?;
        if id == FEATURE_TERMINATOR {
            return Ok(ids);
        }
        let len = r.u32_le("FeatureExt FeatureDataLen")? as usize;
        r.bytes(len, "FeatureExt FeatureData")?;
        ids.push(id);
    }
}
