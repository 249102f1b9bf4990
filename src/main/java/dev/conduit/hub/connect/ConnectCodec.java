package dev.conduit.hub.connect;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.conduit.hub.grpc.StreamRequest;
import dev.conduit.hub.grpc.StreamResponse;
import java.nio.charset.StandardCharsets;

/** The message codec named by the Connect content type: {@code application/connect+proto} or {@code +json}. */
enum ConnectCodec {
  PROTO("proto") {
    @Override
    StreamRequest decode(byte[] message) throws InvalidProtocolBufferException {
      return StreamRequest.parseFrom(message);
    }

    @Override
    byte[] encode(StreamResponse response) {
      return response.toByteArray();
    }
  },
  /** protobuf's canonical JSON mapping; unknown fields are ignored, as Connect servers do. */
  JSON("json") {
    private final JsonFormat.Parser parser = JsonFormat.parser().ignoringUnknownFields();
    private final JsonFormat.Printer printer = JsonFormat.printer().omittingInsignificantWhitespace();

    @Override
    StreamRequest decode(byte[] message) throws InvalidProtocolBufferException {
      StreamRequest.Builder builder = StreamRequest.newBuilder();
      parser.merge(new String(message, StandardCharsets.UTF_8), builder);
      return builder.build();
    }

    @Override
    byte[] encode(StreamResponse response) throws InvalidProtocolBufferException {
      return printer.print(response).getBytes(StandardCharsets.UTF_8);
    }
  };

  final String name;

  ConnectCodec(String name) {
    this.name = name;
  }

  /** The codec of a content type's subtype after "connect+" ("proto", "json"), or null when unsupported. */
  static ConnectCodec of(String subtypeSuffix) {
    for (ConnectCodec codec : values()) {
      if (codec.name.equals(subtypeSuffix)) {
        return codec;
      }
    }
    return null;
  }

  String contentType() {
    return "application/connect+" + name;
  }

  /** @throws InvalidProtocolBufferException when the bytes are no StreamRequest in this codec */
  abstract StreamRequest decode(byte[] message) throws InvalidProtocolBufferException;

  abstract byte[] encode(StreamResponse response) throws InvalidProtocolBufferException;
}
