#!/usr/bin/env bash
# The packages as a user meets them: pack every package (four libraries and the gradienthooks tool) into a temporary feed, create a console app outside the
# solution that references GradientHooks (and GradientHooks.Reporting, GradientHooks.MLNetBridge) from that feed
# plus TorchSharp-cpu from the registry, make the README's first program its Program.cs, run it, and check that it
# prints what the README shows, then install the gradienthooks tool from the feed and check that it gives the same
# diagnosis from the app's run log. On Linux without GLIBCXX_3.4.32 (Debian 12) it also checks that the native fix ran in the consumer's build.
# Usage: bash build/check-packages.sh        (exit 0 = the packages work on their own; about 25 s)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/gradienthooks-packages.XXXXXX)
# A version no earlier run has put in the NuGet cache, so the consumer restores exactly these packages.
version="0.1.0-ci.$(date +%Y%m%d%H%M%S).$$"
# KEEP_PACKAGE_CHECK=1 keeps the feed and the app for a look afterwards.
[ "${KEEP_PACKAGE_CHECK:-}" = 1 ] || trap 'rm -rf "$work"; rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/gradienthooks*/"$version"' EXIT
fail() { echo "package check: FAILED: $*" >&2; exit 1; }

echo "package check: packing $version into $work/feed"
dotnet pack "$repo/GradientHooks.sln" -c Release -o "$work/feed" -p:Version="$version" -nologo -v:q >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log"; fail "dotnet pack"; }
for id in GradientHooks GradientHooks.Reporting GradientHooks.MLNetBridge GradientHooks.TorchSharpNativeFix GradientHooks.Tool; do
  pkg="$work/feed/$id.$version.nupkg"
  [ -f "$pkg" ] || fail "$id.$version.nupkg was not produced"
  nuspec=$(unzip -p "$pkg" "$id.nuspec")
  for field in '<authors>GradientHooks contributors</authors>' '<license type="expression">MIT</license>' '<readme>README.md</readme>' '<description>' '<tags>' '<repository type="git"'; do
    grep -qF "$field" <<<"$nuspec" || fail "$id.nuspec lacks $field"
  done
  files=$(unzip -l "$pkg")   # read whole: grep -q would close the pipe early, and pipefail would see unzip fail
  grep -q ' README.md$' <<<"$files" || fail "$id has no README.md"
  if [ "$id" = GradientHooks.Tool ]; then
    grep -q '<packageType name="DotnetTool"' <<<"$(unzip -p "$pkg" "$id.nuspec")" || fail "$id is not a .NET tool package"
    grep -q 'tools/net10.0/any/DotnetToolSettings.xml' <<<"$files" || fail "$id has no DotnetToolSettings.xml"
  elif [ "$id" != GradientHooks.TorchSharpNativeFix ]; then
    [ -f "$work/feed/$id.$version.snupkg" ] || fail "$id has no symbol package"
    grep -q "lib/net10.0/$id.xml" <<<"$files" || fail "$id has no XML documentation"
  fi
done
grep -q "id=\"GradientHooks.TorchSharpNativeFix\" version=\"$version\"" <<<"$(unzip -p "$work/feed/GradientHooks.$version.nupkg" GradientHooks.nuspec)" \
  || fail "GradientHooks does not depend on GradientHooks.TorchSharpNativeFix"
grep -q 'buildTransitive/GradientHooks.TorchSharpNativeFix.targets' <<<"$(unzip -l "$work/feed/GradientHooks.TorchSharpNativeFix.$version.nupkg")" \
  || fail "the native fix targets are not under buildTransitive/"

# The consumer: outside the repository (no Directory.Build.* or central versions reach it), its own nuget.config.
app="$work/app"
mkdir -p "$app"
torchsharp=$(sed -n 's/.*Include="TorchSharp-cpu" Version="\([^"]*\)".*/\1/p' "$repo/Directory.Packages.props")
cat >"$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
</configuration>
XML
cat >"$app/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="GradientHooks" Version="$version" />
    <PackageReference Include="GradientHooks.Reporting" Version="$version" />
    <PackageReference Include="GradientHooks.MLNetBridge" Version="$version" />
    <PackageReference Include="TorchSharp-cpu" Version="$torchsharp" />
  </ItemGroup>
</Project>
XML

# Program.cs = the README's first program (the csharp block under "## Your first loop"), as a user copies it. A second
# file checks, when the app starts, that the Reporting and MLNetBridge packages load too.
awk '/^## Your first loop/ { section = 1; next } section && /^```csharp/ { inside = 1; next } inside && /^```/ { exit } inside { print }' "$repo/README.md" >"$app/Program.cs"
[ -s "$app/Program.cs" ] || fail "no csharp block under '## Your first loop' in README.md"
# One line added after line 1 so that the same run also writes a run log for the gradienthooks tool below (it prints nothing).
grep -q '^using var monitor = GradientMonitor.Attach' "$app/Program.cs" || fail "the README's first program has no 'using var monitor = GradientMonitor.Attach' line"
sed -i '/^using var monitor = GradientMonitor.Attach/a using var runLog = GradientHooks.Reporting.JsonLinesSink.Attach(monitor, Environment.GetEnvironmentVariable("RUN_LOG")!);' "$app/Program.cs"
# What the README says it prints (the text block after the program).
awk '/^## Your first loop/ { section = 1; next } section && /^```text/ { inside = 1; next } inside && /^```/ { exit } inside { print }' "$repo/README.md" >"$work/expected.txt"
[ -s "$work/expected.txt" ] || fail "no text block (what the program prints) under '## Your first loop' in README.md"
cat >"$app/PackagesLoad.cs" <<'CS'
using System.Runtime.CompilerServices;

static class PackagesLoad
{
    [ModuleInitializer]
    internal static void Check() => Console.Error.WriteLine(
        $"reporting: {typeof(GradientHooks.Reporting.CsvSink).Assembly.GetName().Name}, ml.net: {typeof(GradientHooks.MLNet.TorchMlpOptions).Assembly.GetName().Name}");
}
CS

echo "package check: building a consumer app in $app"
(cd "$app" && dotnet build -c Release -nologo -v:n >"$work/build.log" 2>&1) || { tail -40 "$work/build.log"; fail "the consumer app does not build"; }
if [[ "$(uname -s)" == Linux ]]; then
  lib=$(ls /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 2>/dev/null | head -n 1 || true)
  if [ -n "$lib" ] && ! grep -qa GLIBCXX_3.4.32 "$lib"; then
    grep -q "TorchSharp native fix: marked GLIBCXX_3.4.32 as a weak version need" "$work/build.log" \
      || fail "this system lacks GLIBCXX_3.4.32 and the native fix did not run in the consumer's build"
    echo "package check: the native fix ran in the consumer's build"
  fi
fi
(cd "$app" && RUN_LOG="$work/run.jsonl" dotnet run -c Release --no-build >"$work/out.txt" 2>"$work/err.txt") || { cat "$work/out.txt" "$work/err.txt"; fail "the consumer app failed"; }
sed 's/^/  consumer: /' "$work/out.txt" | head -5
grep -q "reporting: GradientHooks.Reporting, ml.net: GradientHooks.MLNetBridge" "$work/err.txt" || { cat "$work/err.txt"; fail "the Reporting and MLNetBridge packages did not load"; }
trim() { awk 'NF { for (; blank > 0; blank--) print ""; print; next } { blank++ }' "$1"; }   # without trailing blank lines
diff <(trim "$work/expected.txt") <(trim "$work/out.txt") >"$work/diff.txt" || { cat "$work/diff.txt"; fail "the README's first program does not print what the README shows (diff above: < README, > now)"; }
echo "package check: the README's first program prints what the README shows"

# The gradienthooks tool as a user installs it (into its own folder: no libtorch there), on the run log the app wrote.
dotnet tool install GradientHooks.Tool --version "$version" --tool-path "$work/tools" --configfile "$app/nuget.config" >"$work/tool.log" 2>&1 \
  || { cat "$work/tool.log"; fail "dotnet tool install GradientHooks.Tool"; }
[ -z "$(find "$work/tools" -name 'libtorch*' -print -quit)" ] || fail "the tool package carries libtorch; it should read run logs without it"
code=0; "$work/tools/gradienthooks" diagnose "$work/run.jsonl" >"$work/tool-out.txt" 2>"$work/tool-err.txt" || code=$?
[ "$code" = 1 ] || { cat "$work/tool-out.txt" "$work/tool-err.txt"; fail "gradienthooks diagnose exited $code on a run with problems (expected 1)"; }
diff <(trim "$work/expected.txt") <(tail -n +3 "$work/tool-out.txt" | trim /dev/stdin) >"$work/diff.txt" \
  || { cat "$work/diff.txt"; fail "gradienthooks diagnose does not print the diagnosis the program printed (diff above: < README, > tool)"; }
"$work/tools/gradienthooks" report "$work/run.jsonl" -o "$work/report/spirals.html" >"$work/tool-out.txt" 2>&1 || { cat "$work/tool-out.txt"; fail "gradienthooks report"; }
grep -q "Vanishing gradients" "$work/report/spirals.html" || fail "the report does not name the root cause"
code=0; "$work/tools/gradienthooks" diagnose "$work/missing.jsonl" >/dev/null 2>"$work/tool-err.txt" || code=$?
[ "$code" = 2 ] && [ "$(wc -l <"$work/tool-err.txt")" = 1 ] || { cat "$work/tool-err.txt"; fail "a missing log should give one line and exit code 2 (got $code)"; }
echo "package check: the gradienthooks tool installed from the feed diagnoses the app's run log as the app did, and writes its report"
echo "package check: passed (5 packages, consumer app built from the feed and ran, tool installed and ran)"
