using System.Buffers;
using Akka.IO;

namespace L4P.Connections;

/// <summary>
/// Bytes buffered until an incremental parser has an answer (the PROXY header, the ClientHello, the
/// CONNECT reply, an HTTP request head). Each segment is copied once into a pooled array that grows by
/// doubling up to <see cref="Limit"/>; the parser reads <see cref="Span"/>, so nothing is copied per
/// parse. Bytes beyond the limit are kept aside (<see cref="Overflowed"/>): they belong to whatever
/// follows the frame, and come back through <see cref="Consume"/> and <see cref="Rest"/>.
/// The owner calls <see cref="Release"/> when done (the actor's PostStop at the latest).
/// </summary>
public sealed class BoundedBuffer(int limit)
{
    /// <summary>A first array this size serves most frames without growing.</summary>
    private const int InitialSize = 1024;

    private byte[]? _array;
    private int _count;
    private ByteString _overflow = ByteString.Empty;

    /// <summary>The most bytes the parser gets to see.</summary>
    public int Limit { get; } = limit;

    /// <summary>Bytes buffered for the parser (at most <see cref="Limit"/>).</summary>
    public int Count => _count;

    public bool IsEmpty => _count == 0 && _overflow.IsEmpty;

    /// <summary>The buffer is full and more came: a parser that still needs more will never have enough.</summary>
    public bool Overflowed => !_overflow.IsEmpty;

    /// <summary>What is buffered, for the parser; valid until the next call that changes the buffer.</summary>
    public ReadOnlySpan<byte> Span => _array.AsSpan(0, _count);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, _count);

    /// <summary>Copies <paramref name="data"/> in, up to the limit; the rest waits in the overflow.</summary>
    public void Append(ByteString data)
    {
        if (data.IsEmpty) return;
        if (Overflowed)
        {
            _overflow = _overflow.Concat(data);
            return;
        }
        var take = Math.Min(Limit - _count, data.Count);
        if (take > 0)
        {
            Reserve(_count + take);
            data.CopyTo(_array!, _count, take);
            _count += take;
        }
        if (take < data.Count) _overflow = data.Slice(take);
    }

    /// <summary>Drops the first <paramref name="n"/> bytes (a parsed frame); overflow moves in behind what remains.</summary>
    public void Consume(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(n, _count);
        if (n == 0) return;
        _count -= n;
        if (_count > 0) Buffer.BlockCopy(_array!, n, _array!, 0, _count);
        var overflow = _overflow;
        _overflow = ByteString.Empty;
        Append(overflow);
    }

    /// <summary>Everything not consumed, buffered and overflow, as a ByteString of its own (a copy: the array goes back to the pool).</summary>
    public ByteString Rest
    {
        get
        {
            if (_count == 0) return _overflow;
            var buffered = ByteString.CopyFrom(_array!, 0, _count);
            return _overflow.IsEmpty ? buffered : buffered.Concat(_overflow);
        }
    }

    /// <summary>Empties the buffer and returns its array to the pool; the buffer can be used again.</summary>
    public void Release()
    {
        _count = 0;
        _overflow = ByteString.Empty;
        if (_array is null) return;
        ArrayPool<byte>.Shared.Return(_array);
        _array = null;
    }

    private void Reserve(int needed)
    {
        if (_array is not null && _array.Length >= needed) return;
        var size = Math.Min(Limit, Math.Max(needed, _array is null ? InitialSize : _array.Length * 2));
        var grown = ArrayPool<byte>.Shared.Rent(size);
        if (_array is not null)
        {
            Buffer.BlockCopy(_array, 0, grown, 0, _count);
            ArrayPool<byte>.Shared.Return(_array);
        }
        _array = grown;
    }
}
