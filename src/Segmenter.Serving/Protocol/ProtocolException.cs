using System;

namespace Segmenter.Serving.Protocol;

/// <summary>A request the server refuses: the HTTP status, the error kind counted in the metrics, and a message for the client.</summary>
public sealed class ProtocolException : Exception
{
    /// <summary>A refusal with its status (4xx) and kind.</summary>
    public ProtocolException(int status, string kind, string message) : base(message)
    {
        Status = status;
        Kind = kind;
    }

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The metrics' error kind: bad_request, too_large, unauthorized, not_found, overloaded.</summary>
    public string Kind { get; }

    /// <summary>400: the request is malformed or does not fit the model.</summary>
    public static ProtocolException BadRequest(string message) => new(400, "bad_request", message);

    /// <summary>413: the request is larger than the server takes.</summary>
    public static ProtocolException TooLarge(string message) => new(413, "too_large", message);

    /// <summary>404: no such model (or version).</summary>
    public static ProtocolException NotFound(string message) => new(404, "not_found", message);
}
