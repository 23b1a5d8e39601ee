//! COLMETADATA and the TYPE_INFO it (and RETURNVALUE) carries (MS-TDS
//! 2.2.7.4, 2.2.5.6), read from bytes that may not be complete yet.

use super::bytes::{Bytes, ProtocolError, Short};
use super::sink::ColumnMetadata;
use crate::types::{type_id::*, Collation, TypeInfo};

/// The column count that means "no metadata": the rows that follow use the
/// previous result set's columns.
pub(crate) const NO_METADATA: u16 = 0xFFFF;

/// Column flags: nullable (bit 0); encrypted (bit 11), which needs keys this
/// client does not negotiate.
const FLAG_NULLABLE: u16 = 0x1;
const FLAG_ENCRYPTED: u16 = 0x800;

/// Reads one TYPE_INFO.
pub(crate) fn type_info(bytes: &mut Bytes<'_>) -> Result<TypeInfo, Short> {
    let id = bytes.u8()?;
    let info = match id {
        NULL | INT1 | BIT | INT2 | INT4 | DATETIM4 | FLT4 | MONEY | DATETIME | FLT8 | MONEY4 | INT8 | DATEN => {
            TypeInfo::fixed(id)
        }
        GUID | INTN | BITN | FLTN | MONEYN | DATETIMN => TypeInfo::sized(id, u32::from(bytes.u8()?)),
        DECIMALN | NUMERICN => {
            let length = u32::from(bytes.u8()?);
            TypeInfo { precision: bytes.u8()?, scale: bytes.u8()?, ..TypeInfo::sized(id, length) }
        }
        TIMEN | DATETIME2N | DATETIMEOFFSETN => TypeInfo { scale: bytes.u8()?, ..TypeInfo::fixed(id) },
        BIGVARBIN | BIGBINARY => TypeInfo::sized(id, u32::from(bytes.u16()?)),
        BIGVARCHR | BIGCHAR | NVARCHAR | NCHAR => {
            let length = u32::from(bytes.u16()?);
            TypeInfo { collation: Some(collation(bytes)?), ..TypeInfo::sized(id, length) }
        }
        TEXT | NTEXT => {
            let length = bytes.u32()?;
            TypeInfo { collation: Some(collation(bytes)?), ..TypeInfo::sized(id, length) }
        }
        IMAGE | SSVARIANT => TypeInfo::sized(id, bytes.u32()?),
        XML => {
            // SCHEMA_PRESENT, then the schema collection's three-part name.
            if bytes.u8()? != 0 {
                bytes.b_varchar()?;
                bytes.b_varchar()?;
                bytes.us_varchar()?;
            }
            TypeInfo::fixed(id)
        }
        UDT => {
            let length = u32::from(bytes.u16()?);
            let _database = bytes.b_varchar()?;
            let _schema = bytes.b_varchar()?;
            let name = bytes.b_varchar()?;
            let _assembly_qualified_name = bytes.us_varchar()?;
            TypeInfo { udt_name: Some(name), ..TypeInfo::sized(id, length) }
        }
        other => return Err(ProtocolError::new(format!("unknown TDS data type 0x{other:02X}")).into()),
    };
    Ok(info)
}

fn collation(bytes: &mut Bytes<'_>) -> Result<Collation, Short> {
    Ok(Collation { info: bytes.u32()?, sort_id: bytes.u8()? })
}

/// UserType, Flags and TYPE_INFO: the start of a column's (or an output
/// parameter's) metadata. Returns the type and whether it is nullable.
pub(crate) fn column_type_info(bytes: &mut Bytes<'_>) -> Result<(TypeInfo, bool), Short> {
    let _user_type = bytes.u32()?;
    let flags = bytes.u16()?;
    if flags & FLAG_ENCRYPTED != 0 {
        return Err(ProtocolError::new("an Always Encrypted column (column encryption was not negotiated)").into());
    }
    Ok((type_info(bytes)?, flags & FLAG_NULLABLE != 0))
}

/// The body of a COLMETADATA token (after the token byte): its columns, or
/// `None` for "no metadata".
pub(crate) fn col_metadata(bytes: &mut Bytes<'_>) -> Result<Option<Vec<ColumnMetadata>>, Short> {
    let count = bytes.u16()?;
    if count == NO_METADATA {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (type_info, nullable) = column_type_info(bytes)?;
        if matches!(type_info.id, TEXT | NTEXT | IMAGE) {
            // The table the text/image column belongs to, as parts of a name.
            let parts = bytes.u8()?;
            for _ in 0..parts {
                bytes.us_varchar()?;
            }
        }
        let name = bytes.b_varchar()?;
        columns.push(ColumnMetadata { name, type_info, nullable });
    }
    Ok(Some(columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn name(text: &str) -> Vec<u8> {
        let mut bytes = vec![text.encode_utf16().count() as u8];
        bytes.extend(utf16(text));
        bytes
    }

    #[test]
    fn columns_of_several_types() {
        let mut body = vec![3, 0];
        // int NOT NULL
        body.extend([0, 0, 0, 0, 0, 0, INT4]);
        body.extend(name("id"));
        // nvarchar(max) NULL, Latin1_General_CI_AS
        body.extend([0, 0, 0, 0, 1, 0, NVARCHAR, 0xFF, 0xFF, 0x09, 0x04, 0xD0, 0x00, 0x34]);
        body.extend(name("note"));
        // ntext NULL, with its table name dbo.t
        body.extend([0, 0, 0, 0, 1, 0, NTEXT, 0xFE, 0xFF, 0xFF, 0x7F, 0x09, 0x04, 0xD0, 0x00, 0x34, 2]);
        body.extend([3, 0]);
        body.extend(utf16("dbo"));
        body.extend([1, 0]);
        body.extend(utf16("t"));
        body.extend(name("old"));
        let columns = col_metadata(&mut Bytes::new(&body)).unwrap().unwrap();
        assert_eq!(columns.len(), 3);
        assert_eq!((columns[0].name.as_str(), columns[0].nullable, columns[0].type_info.id), ("id", false, INT4));
        assert_eq!(columns[1].type_info.length, 0xFFFF);
        assert_eq!(columns[1].type_info.collation, Some(Collation { info: 0x00D0_0409, sort_id: 0x34 }));
        assert_eq!((columns[2].name.as_str(), columns[2].type_info.id), ("old", NTEXT));

        // Every proper prefix is incomplete, never an error.
        for cut in 0..body.len() {
            assert_eq!(col_metadata(&mut Bytes::new(&body[..cut])), Err(Short::Incomplete), "cut at {cut}");
        }
    }

    #[test]
    fn no_metadata_and_unknown_types() {
        assert_eq!(col_metadata(&mut Bytes::new(&[0xFF, 0xFF])), Ok(None));
        let body = [1, 0, 0, 0, 0, 0, 0, 0, 0x01];
        assert!(matches!(col_metadata(&mut Bytes::new(&body)), Err(Short::Malformed(_))));
        let encrypted = [1, 0, 0, 0, 0, 0, 0x01, 0x08, INT4];
        assert!(matches!(col_metadata(&mut Bytes::new(&encrypted)), Err(Short::Malformed(_))));
    }

    #[test]
    fn decimal_time_udt_and_xml_type_infos() {
        let decimal = [DECIMALN, 9, 18, 4];
        let info = type_info(&mut Bytes::new(&decimal)).unwrap();
        assert_eq!((info.length, info.precision, info.scale), (9, 18, 4));
        let time = type_info(&mut Bytes::new(&[DATETIME2N, 3])).unwrap();
        assert_eq!(time.scale, 3);
        let mut udt = vec![UDT, 0x7C, 0x03];
        udt.extend(name("master"));
        udt.extend(name("sys"));
        udt.extend(name("hierarchyid"));
        udt.extend([2, 0]);
        udt.extend(utf16("x."));
        let info = type_info(&mut Bytes::new(&udt)).unwrap();
        assert_eq!((info.length, info.udt_name.as_deref()), (892, Some("hierarchyid")));
        let mut xml = vec![XML, 1];
        xml.extend(name("db"));
        xml.extend(name("dbo"));
        xml.extend([1, 0]);
        xml.extend(utf16("s"));
        assert_eq!(type_info(&mut Bytes::new(&xml)).unwrap().id, XML);
    }
}
