//! Table deltas: the rows of each chain-state table a block changed. A Leap 5 node sends a
//! delta for every state table (accounts, code, contract rows and their secondary indexes,
//! permissions, resources, global properties, …); a reader usually needs two or three of them,
//! so [`decode_tables`] reads only the tables it is asked for and passes over the rest by name,
//! without decoding or copying their rows.

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::name::Name;
use crate::antelope::ship::expect_variant;

/// One `row` of a table delta: present (new value) or removed (old value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaRow {
    /// `false` when the row was removed.
    pub present: bool,
    /// The serialized state object, a variant of the table's type.
    pub data: Vec<u8>,
}

/// `table_delta_v0`: the rows of one state table that a block changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDelta {
    /// State table name (`contract_row`, `account`, …).
    pub name: String,
    /// Changed rows.
    pub rows: Vec<DeltaRow>,
}

/// `contract_row_v0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRow {
    /// Contract.
    pub code: Name,
    /// Scope.
    pub scope: Name,
    /// Table.
    pub table: Name,
    /// Primary key.
    pub primary_key: u64,
    /// RAM payer.
    pub payer: Name,
    /// Row bytes.
    pub value: Vec<u8>,
}

/// Decodes a serialized `table_delta[]`, keeping the deltas of the tables named in `tables`
/// (in the order they come) and passing over every other table's rows unread.
///
/// # Errors
/// A [`binary::Error`] when the list itself is malformed, whatever table it is in.
pub fn decode_tables(bytes: &[u8], tables: &[&str]) -> binary::Result<Vec<TableDelta>> {
    let mut reader = Reader::new(bytes);
    // A delta is at least a variant index, an empty name and an empty row list.
    let count = reader.read_length(3)?;
    let mut kept = Vec::new();
    for _ in 0..count {
        expect_variant(&mut reader, "table_delta", 0)?;
        let name = reader.read_str()?;
        if tables.contains(&name) {
            kept.push(TableDelta {
                name: name.to_owned(),
                rows: Vec::decode(&mut reader)?,
            });
        } else {
            let n_rows = reader.read_length(2)?;
            for _ in 0..n_rows {
                reader.read_bool()?;
                reader.read_bytes()?;
            }
        }
    }
    reader.finish()?;
    Ok(kept)
}

impl Encode for DeltaRow {
    fn encode(&self, writer: &mut Writer) {
        writer.write_bool(self.present);
        writer.write_bytes(&self.data);
    }
}

impl Decode for DeltaRow {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        Ok(Self {
            present: reader.read_bool()?,
            data: reader.read_bytes()?.to_vec(),
        })
    }
}

impl Encode for TableDelta {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        writer.write_str(&self.name);
        self.rows.encode(writer);
    }
}

impl Decode for TableDelta {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "table_delta", 0)?;
        Ok(Self {
            name: String::decode(reader)?,
            rows: Vec::decode(reader)?,
        })
    }
}

impl Encode for ContractRow {
    fn encode(&self, writer: &mut Writer) {
        writer.write_varuint32(0);
        self.code.encode(writer);
        self.scope.encode(writer);
        self.table.encode(writer);
        writer.write_u64(self.primary_key);
        self.payer.encode(writer);
        writer.write_bytes(&self.value);
    }
}

impl Decode for ContractRow {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        expect_variant(reader, "contract_row", 0)?;
        Ok(Self {
            code: Name::decode(reader)?,
            scope: Name::decode(reader)?,
            table: Name::decode(reader)?,
            primary_key: reader.read_u64()?,
            payer: Name::decode(reader)?,
            value: reader.read_bytes()?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ContractRow {
        ContractRow {
            code: Name::from_str_const("soviet"),
            scope: Name::from_str_const("voskhod"),
            table: Name::from_str_const("decisions"),
            primary_key: 1,
            payer: Name::from_str_const("voskhod"),
            value: vec![9, 9],
        }
    }

    fn delta(name: &str, data: Vec<u8>) -> TableDelta {
        TableDelta {
            name: name.to_owned(),
            rows: vec![DeltaRow {
                present: true,
                data,
            }],
        }
    }

    #[test]
    fn deltas_round_trip() {
        let delta = delta("contract_row", binary::to_bytes(&row()));
        let decoded: Vec<TableDelta> =
            binary::from_bytes(&binary::to_bytes(&vec![delta.clone()])).expect("decodes");
        assert_eq!(decoded, vec![delta]);
        let back: ContractRow = binary::from_bytes(&decoded[0].rows[0].data).expect("row");
        assert_eq!(back, row());
    }

    #[test]
    fn only_the_named_tables_are_read() {
        let deltas = vec![
            delta("resource_usage", vec![0xff; 40]),
            delta("contract_row", binary::to_bytes(&row())),
            delta("contract_index_long_double", vec![0; 3]),
            delta("a_table_from_the_future", vec![1]),
            delta("account", vec![0, 1]),
        ];
        let bytes = binary::to_bytes(&deltas);
        let kept = decode_tables(&bytes, &["contract_row", "account"]).expect("decodes");
        assert_eq!(kept, vec![deltas[1].clone(), deltas[4].clone()]);
        assert_eq!(decode_tables(&bytes, &[]).expect("decodes"), Vec::new());
    }

    #[test]
    fn a_malformed_list_fails_whatever_table_it_is_in() {
        let mut bytes = binary::to_bytes(&vec![delta("resource_usage", vec![1, 2])]);
        bytes.pop();
        assert!(decode_tables(&bytes, &["contract_row"]).is_err());
        let mut bytes = binary::to_bytes(&vec![delta("resource_usage", vec![1, 2])]);
        bytes.push(0);
        assert!(decode_tables(&bytes, &["contract_row"]).is_err());
    }
}
