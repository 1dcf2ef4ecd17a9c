//! The protobuf codec of the service's messages: prost's, except that a message that does not
//! decode is INVALID_ARGUMENT rather than INTERNAL.
//!
//! A request the service cannot decode (truncated, a wrong wire type, a string that is not
//! UTF-8) is the caller's error, and prost's description names the message and field where it
//! failed (`IngestRecordsRequest.records: Record.kind: Deal.id: invalid string value: data is not
//! UTF-8 encoded`). The generated clients of this crate use the same codec, so a response they
//! cannot decode is reported the same way.

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Prost's codec with decoding failures as INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct MessageCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for MessageCodec<T, U> {
    fn default() -> Self {
        MessageCodec {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for MessageCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = MessageDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        MessageDecoder {
            inner: self.inner.decoder(),
        }
    }
}

/// Prost's decoder with decoding failures as INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct MessageDecoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: Message + Default> Decoder for MessageDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        self.inner.decode(buf).map_err(|status| {
            Status::invalid_argument(format!(
                "the message does not decode as protobuf: {}",
                status.message()
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}
