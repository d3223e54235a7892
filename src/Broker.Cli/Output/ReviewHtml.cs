using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Broker.Policy.Review;

namespace Broker.Cli.Output;

/// <summary>
/// The access review as one self-contained HTML page an auditor can open or archive: no script, no external asset
/// (a Content-Security-Policy that allows inline style only), every value from the broker HTML-encoded. Tool
/// descriptions and identities are written by workloads: they must show as text, never as markup.
/// </summary>
internal static class ReviewHtml
{
    private const string Style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}h3{font-size:1.05em;margin:1.5em 0 .3em}
        table{border-collapse:collapse;margin:.3em 0 1em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
        th{background:#f3f3f3}code{font-family:ui-monospace,monospace}.warn{color:#a40}.muted{color:#777}
        """;

    public static string Render(AccessReview review)
    {
        ArgumentNullException.ThrowIfNull(review);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
            .Append("<title>Access review: ").Append(E(review.Tenant)).Append("</title>\n<style>").Append(Style).Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>Access review: tenant <code>").Append(E(review.Tenant)).Append("</code></h1>\n<p>Window: ")
            .Append(E(Day(review.From))).Append(" to ").Append(E(Day(review.To))).Append(" (").Append(review.Days.ToString(CultureInfo.InvariantCulture))
            .Append(" UTC days). Generated ").Append(E(Text.Timestamp(review.GeneratedAt))).Append(" from policy <code>").Append(E(review.PolicyVersion))
            .Append("</code>. Grants counted: ").Append(review.Usage.Grants.ToString(CultureInfo.InvariantCulture))
            .Append(". Counts lag grants by up to ").Append(review.Usage.FlushIntervalSeconds.ToString(CultureInfo.InvariantCulture)).Append(" s.</p>\n");
        if (review.Usage.Overflow > 0)
        {
            html.Append("<p class=\"warn\">").Append(review.Usage.Overflow.ToString(CultureInfo.InvariantCulture))
                .Append(" grants were counted without their identity (a daily cap was reached): identities and unused entitlements may be incomplete.</p>\n");
        }

        if (review.Truncated)
        {
            html.Append("<p class=\"warn\">Some lists were cut at their caps; the JSON output has the same caps.</p>\n");
        }

        html.Append("<h2>Capabilities</h2>\n<table>\n<tr><th>Capability</th><th>Resource</th><th>Publishers</th><th>Grants</th><th>Identities</th><th>Shared with</th></tr>\n");
        foreach (var c in review.Capabilities)
        {
            html.Append("<tr><td><code>").Append(E(c.Name)).Append("</code></td><td>").Append(E(c.Resource ?? c.Audience ?? "-")).Append("</td><td>")
                .Append(E(Join(c.Publishers.Select(p => p.PublishedBy)))).Append("</td><td>").Append(c.Grants.ToString(CultureInfo.InvariantCulture))
                .Append("</td><td>").Append(c.UsedBy.Count.ToString(CultureInfo.InvariantCulture)).Append(c.UsedByTruncated ? "+" : "")
                .Append("</td><td>").Append(E(Join(c.SharedWith))).Append("</td></tr>\n");
        }

        html.Append("</table>\n");
        foreach (var c in review.Capabilities)
        {
            html.Append("<h3>").Append(E(c.Name)).Append("</h3>\n");
            if (c.Tools.Count > 0)
            {
                html.Append("<table>\n<tr><th>Tool</th><th>Title</th><th>Description</th></tr>\n");
                foreach (var t in c.Tools)
                {
                    html.Append("<tr><td><code>").Append(E(t.Name)).Append("</code></td><td>").Append(E(t.Title ?? "")).Append("</td><td>").Append(E(t.Description ?? "")).Append("</td></tr>\n");
                }

                html.Append("</table>\n");
            }
            else
            {
                html.Append("<p class=\"muted\">Not published. Declared tools: ").Append(E(Join(c.DeclaredTools))).Append("</p>\n");
            }

            html.Append("<table>\n<tr><th>Rule</th><th>Where</th><th>Subjects</th><th>Permissions</th><th>Conditions</th></tr>\n");
            foreach (var r in c.Rules)
            {
                html.Append("<tr><td>").Append(E(r.Name)).Append("</td><td><code>").Append(E(r.Source)).Append("</code></td><td>")
                    .Append(E(Join(r.Subjects))).Append("</td><td>").Append(E(Join(r.Permissions))).Append("</td><td>").Append(E(Conditions(r))).Append("</td></tr>\n");
            }

            html.Append("</table>\n");
            if (c.UsedBy.Count > 0)
            {
                html.Append("<table>\n<tr><th>Identity</th><th>Grants</th></tr>\n");
                foreach (var u in c.UsedBy)
                {
                    html.Append("<tr><td><code>").Append(E(u.Identity)).Append("</code></td><td>").Append(u.Grants.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>\n");
                }

                html.Append("</table>\n");
            }
        }

        html.Append("<h2>Unused entitlements</h2>\n<p>Rule subject patterns that give execute on a capability no matching identity obtained in the window: candidates to remove.</p>\n");
        Rows(html, ["Capability", "Rule", "Where", "Subject"], review.UnusedEntitlements.Select(u => new[] { u.Capability, u.Rule, u.Source, u.Subject }));
        html.Append("<h2>Partly used rules</h2>\n<p>Identities that used some, not all, of the capabilities a rule lets them execute.</p>\n");
        Rows(html, ["Identity", "Rule", "Where", "Used", "Unused"], review.PartialUse.Select(p => new[] { p.Identity, p.Rule, p.Source, Join(p.Used), Join(p.Unused) }));
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void Rows(StringBuilder html, string[] headers, IEnumerable<string[]> rows)
    {
        html.Append("<table>\n<tr>");
        foreach (var header in headers)
        {
            html.Append("<th>").Append(E(header)).Append("</th>");
        }

        html.Append("</tr>\n");
        foreach (var row in rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
            {
                html.Append("<td>").Append(E(cell)).Append("</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
    }

    /// <summary>A rule's purposes, claims, caller conditions, decision point and delegation, in one line.</summary>
    public static string Conditions(RuleReview rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        List<string> parts = [];
        if (rule.Purposes is { } purposes)
        {
            parts.Add("purposes: " + string.Join(", ", purposes));
        }

        if (rule.Claims is { } claims)
        {
            parts.Add("claims: " + string.Join("; ", claims));
        }

        if (rule.Caller is { } caller)
        {
            List<string> c = [];
            if (caller.Principal is { } p)
            {
                c.Add("principal " + p);
            }

            if (caller.Autonomous == false)
            {
                c.Add("not autonomous");
            }

            if (caller.MaxActors is { } max)
            {
                c.Add("max_actors " + max.ToString(CultureInfo.InvariantCulture));
            }

            if (caller.ActorKinds is { } kinds)
            {
                c.Add("actor_kinds " + string.Join("/", kinds));
            }

            if (caller.RequirePurpose == true)
            {
                c.Add("purpose required");
            }

            parts.Add("caller: " + string.Join(", ", c));
        }

        if (rule.DecisionPoint is { } point)
        {
            parts.Add("decision point: " + point);
        }

        if (rule.DelegationActors is { } actors)
        {
            parts.Add("delegation: " + string.Join(", ", actors));
        }

        return parts.Count == 0 ? "-" : string.Join("; ", parts);
    }

    private static string E(string value) => HtmlEncoder.Default.Encode(value);

    private static string Join(IEnumerable<string> values) => values.Any() ? string.Join(", ", values) : "-";

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
