package org.saslauth.store;

import java.util.ArrayList;
import java.util.List;

/**
 * A query or filter written with Dovecot's variables: {@code %u} the whole user name, {@code %n}
 * the part before the first {@code @}, {@code %d} the part after it (empty without one),
 * {@code %%} a percent sign. The text is cut at each variable so that the values are never
 * spliced into it: an SQL query gets a bound parameter for each, an LDAP filter an escaped
 * value. A variable written in single quotes ({@code '%u'}, as Dovecot's examples quote them)
 * is a parameter too, quotes and all.
 */
final class NameTemplate {

    /** {@link #RIP} and {@link #APP_NAME} only in an app password's update query. */
    enum Variable { USER, NAME, DOMAIN, RIP, APP_NAME }

    private final List<String> texts;
    private final List<Variable> variables;

    private NameTemplate(List<String> texts, List<Variable> variables) {
        this.texts = texts;
        this.variables = variables;
    }

    /**
     * @param quoted whether {@code '%u'} stands for a parameter with its quotes (SQL)
     * @throws IllegalArgumentException for a variable other than %u, %n, %d and %%
     */
    static NameTemplate parse(String template, boolean quoted) {
        return parse(template, quoted, false);
    }

    /**
     * {@link #parse(String, boolean)}, with {@code %r} (the client's address) and
     * {@code %{name}} (an app password's name) too where {@code appPassword}.
     */
    static NameTemplate parse(String template, boolean quoted, boolean appPassword) {
        List<String> texts = new ArrayList<>();
        List<Variable> variables = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < template.length(); i++) {
            char c = template.charAt(i);
            if (c != '%') {
                text.append(c);
                continue;
            }
            if (i + 1 == template.length()) {
                throw new IllegalArgumentException("'%' at the end; write %% for a percent sign");
            }
            char v = template.charAt(++i);
            Variable variable;
            if (appPassword && v == 'r') {
                variable = Variable.RIP;
            } else if (appPassword && template.startsWith("{name}", i)) {
                variable = Variable.APP_NAME;
                i += "{name}".length() - 1;
            } else {
                variable = switch (v) {
                    case 'u' -> Variable.USER;
                    case 'n' -> Variable.NAME;
                    case 'd' -> Variable.DOMAIN;
                    case '%' -> null;
                    default -> throw new IllegalArgumentException("unknown variable %" + v
                            + " (known: %u the user name, %n the part before @, %d the domain,"
                            + (appPassword ? " %r the client's address, %{name} the app password's name," : "")
                            + " %% a percent sign)");
                };
            }
            if (variable == null) {
                text.append('%');
                continue;
            }
            if (quoted && text.length() > 0 && text.charAt(text.length() - 1) == '\''
                    && i + 1 < template.length() && template.charAt(i + 1) == '\'') {
                text.setLength(text.length() - 1);
                i++;
            }
            texts.add(text.toString());
            text.setLength(0);
            variables.add(variable);
        }
        texts.add(text.toString());
        return new NameTemplate(List.copyOf(texts), List.copyOf(variables));
    }

    List<Variable> variables() {
        return variables;
    }

    /** The text with {@code placeholder} where each variable stands. */
    String join(String placeholder) {
        StringBuilder out = new StringBuilder(texts.get(0));
        for (int i = 1; i < texts.size(); i++) {
            out.append(placeholder).append(texts.get(i));
        }
        return out.toString();
    }

    /** The text with each variable's value for {@code user}, passed through {@code escape}. */
    String expand(String user, java.util.function.UnaryOperator<String> escape) {
        StringBuilder out = new StringBuilder(texts.get(0));
        for (int i = 0; i < variables.size(); i++) {
            out.append(escape.apply(value(variables.get(i), user))).append(texts.get(i + 1));
        }
        return out.toString();
    }

    static String value(Variable v, String user) {
        int at = user.indexOf('@');
        return switch (v) {
            case USER -> user;
            case NAME -> at < 0 ? user : user.substring(0, at);
            case DOMAIN -> at < 0 ? "" : user.substring(at + 1);
            case RIP, APP_NAME -> throw new IllegalArgumentException(v + " is not a value of the user name");
        };
    }
}
