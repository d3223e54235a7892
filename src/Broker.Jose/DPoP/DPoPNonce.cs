// Broker.Jose — DPoP (RFC 9449).

using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using Broker.Jose.Internal;

namespace Broker.Jose.DPoP;

/// <summary>
/// Server nonces for DPoP proofs (RFC 9449 §8, §9) that every replica holding the same key issues and checks without
/// shared state.
/// </summary>
/// <remarks>
/// <para>
/// A nonce is <c>base64url(step ‖ HMAC-SHA256(key, "dpop-nonce/v1" ‖ step))</c>, where <c>step</c> is the number of
/// <see cref="DPoPNonceOptions.Step"/>s since the epoch as 8 big-endian bytes: 54 characters, unpredictable without the
/// key (RFC 9449 §8 "MUST be unpredictable"), and within the nonce syntax of RFC 9449 §8.1. The MAC is compared in
/// constant time.
/// </para>
/// <para>
/// A nonce is accepted in the step it was issued in and the next, so it lives one to two steps: this bounds how far
/// ahead proofs can be made (RFC 9449 §11.2) whatever the client's clock says. The step after the current one is
/// accepted too, since only a replica whose clock is slightly ahead can have issued it. Nonces are not bound to a
/// client: RFC 9449 §11.1 lets one nonce serve many proofs, replay being stopped by <c>jti</c>.
/// </para>
/// </remarks>
public sealed class DPoPNonce
{
    /// <summary>The length of every nonce, in characters.</summary>
    public const int Length = 54;

    private const int StepBytes = 8;
    private const int MacBytes = 32;
    private static readonly byte[] Label = "dpop-nonce/v1"u8.ToArray();

    private readonly DPoPNonceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly long _stepTicks;

    /// <summary>Creates the issuer and checker.</summary>
    /// <param name="options">The key and step.</param>
    /// <param name="timeProvider">The clock steps are counted by.</param>
    public DPoPNonce(DPoPNonceOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _timeProvider = timeProvider;
        _stepTicks = options.Step.Ticks;
    }

    /// <summary>A nonce for the current step, to send in <c>DPoP-Nonce</c>. The same for every call within one step.</summary>
    public string Issue()
    {
        Span<byte> nonce = stackalloc byte[StepBytes + MacBytes];
        var step = CurrentStep();
        BinaryPrimitives.WriteInt64BigEndian(nonce, step);
        Mac(step, nonce[StepBytes..]);
        return Base64Url.EncodeToString(nonce);
    }

    /// <summary>Checks a proof's <c>nonce</c> claim.</summary>
    /// <param name="nonce">The claim's value; null or empty when absent.</param>
    public DPoPNonceCheck Check(string? nonce)
    {
        if (string.IsNullOrEmpty(nonce))
        {
            return DPoPNonceCheck.Missing;
        }

        if (nonce.Length != Length || !StrictBase64Url.IsValid(nonce))
        {
            return DPoPNonceCheck.Invalid;
        }

        Span<byte> bytes = stackalloc byte[StepBytes + MacBytes];
        StrictBase64Url.Decode(nonce, bytes);
        var step = BinaryPrimitives.ReadInt64BigEndian(bytes);
        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(step, expected);

        // The MAC first: only a nonce this server made is ever called stale.
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes[StepBytes..]))
        {
            return DPoPNonceCheck.Invalid;
        }

        var current = CurrentStep();
        if (step > current + 1)
        {
            return DPoPNonceCheck.Invalid;
        }

        return step >= current - 1 ? DPoPNonceCheck.Valid : DPoPNonceCheck.Stale;
    }

    private long CurrentStep() => (_timeProvider.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) / _stepTicks;

    private void Mac(long step, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[Label.Length + StepBytes];
        Label.CopyTo(input);
        BinaryPrimitives.WriteInt64BigEndian(input[Label.Length..], step);
        HMACSHA256.HashData(_options.KeySpan, input, destination);
    }
}
