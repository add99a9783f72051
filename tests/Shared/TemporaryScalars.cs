using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Segmenter.Tests;

/// <summary>
/// TorchSharp 0.107's <c>Scalar</c> holds a raw native pointer that its finalizer frees, so a temporary scalar — a number
/// converted implicitly, or the alpha of 1 that <c>Tensor.add(Tensor)</c> makes for itself — can be collected by a
/// garbage collection while the native call still reads it: libtorch then fails with "Expected false to be true" in
/// <c>toFloat</c> (seen in a training test while data workers allocated). Code passes long-lived scalars
/// (<c>Scalars</c>, <c>TensorArithmetic.Plus</c>) or ones held by a <c>using</c>. This reads an assembly's IL and lists
/// each call that makes a temporary one, naming the method.
/// </summary>
public static class TemporaryScalars
{
    /// <summary>The operand size of every IL opcode, from the runtime's own table.</summary>
    private static readonly Dictionary<ushort, OperandType> Operands = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => (ushort)o.Value, o => o.OperandType);

    /// <summary>"Type.Method calls …" for each call in the assembly at <paramref name="path"/> that makes a temporary scalar.</summary>
    public static IEnumerable<string> In(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        foreach (var typeHandle in metadata.TypeDefinitions)
        {
            var type = metadata.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = metadata.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
                while (il.RemainingBytes > 0)
                {
                    ushort code = il.ReadByte();
                    if (code == 0xFE) code = (ushort)(0xFE00 | il.ReadByte());
                    var operand = Operands[code];
                    if (operand == OperandType.InlineMethod)
                    {
                        var called = Describe(metadata, MetadataTokens.EntityHandle(il.ReadInt32()));
                        if (called is not null) yield return $"{metadata.GetString(type.Name)}.{metadata.GetString(method.Name)} calls {called}";
                        continue;
                    }
                    int size = operand switch   // read before the offset moves: a switch's count is read here
                    {
                        OperandType.InlineNone => 0,
                        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                        OperandType.InlineVar => 2,
                        OperandType.InlineI8 or OperandType.InlineR => 8,
                        OperandType.InlineSwitch => 4 * il.ReadInt32(),
                        _ => 4,
                    };
                    il.Offset += size;
                }
            }
        }
    }

    /// <summary>A description of the called method if it makes a temporary scalar, else null.</summary>
    private static string? Describe(MetadataReader metadata, EntityHandle handle)
    {
        if (handle.Kind == HandleKind.MethodSpecification) handle = metadata.GetMethodSpecification((MethodSpecificationHandle)handle).Method;
        if (handle.Kind != HandleKind.MemberReference) return null;   // the assembly's own methods
        var member = metadata.GetMemberReference((MemberReferenceHandle)handle);
        if (member.Parent.Kind != HandleKind.TypeReference) return null;
        var parent = metadata.GetTypeReference((TypeReferenceHandle)member.Parent);
        string typeName = metadata.GetString(parent.Name), name = metadata.GetString(member.Name);
        if (typeName == "Scalar" && metadata.GetString(parent.Namespace) == "TorchSharp" && name == "op_Implicit") return "Scalar.op_Implicit (a temporary scalar)";
        if (typeName != "Tensor") return null;
        var signature = metadata.GetBlobReader(member.Signature);
        var header = signature.ReadSignatureHeader();
        if (header.IsGeneric) signature.ReadCompressedInteger();
        int parameters = signature.ReadCompressedInteger();
        if (name is "add" or "add_" && parameters == 1 && TypeName(metadata, ref signature, skip: 1) == "Tensor")
            return $"Tensor.{name}(Tensor) (its alpha is a temporary scalar)";
        if (name == "op_Addition") return "Tensor.op_Addition (add with a temporary alpha)";
        return null;
    }

    /// <summary>The name of the class after <paramref name="skip"/> class types in a signature (the return type first), or null for another kind.</summary>
    private static string? TypeName(MetadataReader metadata, ref BlobReader signature, int skip)
    {
        for (int i = 0; ; i++)
        {
            var code = signature.ReadSignatureTypeCode();
            if (code is not (SignatureTypeCode.TypeHandle)) return null;
            var handle = signature.ReadTypeHandle();
            if (i < skip) continue;
            return handle.Kind == HandleKind.TypeReference ? metadata.GetString(metadata.GetTypeReference((TypeReferenceHandle)handle).Name) : null;
        }
    }
}
