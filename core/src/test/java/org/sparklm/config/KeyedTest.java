package org.sparklm.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.sparklm.io.Json;
import org.sparklm.model.TransformerConfig;
import org.sparklm.train.Objective;
import org.sparklm.train.SecondMoment;

/** The keys of the enums named on the command line and in files. */
class KeyedTest {

    @Test
    void keysAreLowerCaseNamesWithHyphens() throws Exception {
        assertEquals("prefix-lm", Objective.PREFIX_LM.key());
        assertEquals("encoder-decoder", TransformerConfig.Architecture.ENCODER_DECODER.key());
        assertEquals(Objective.PREFIX_LM, Objective.parse(" Prefix-LM "));
        // the key is what JSON holds, both ways
        assertEquals("\"prefix-lm\"", Json.MAPPER.writeValueAsString(Objective.PREFIX_LM));
        assertEquals(SecondMoment.COMBINED, Json.MAPPER.readValue("\"combined\"", SecondMoment.class));
    }

    @Test
    void anUnknownKeyNamesTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Objective.parse("gpt"));
        assertEquals("objective must be clm, mlm, span or prefix-lm, got 'gpt'", e.getMessage());
        assertEquals("second moment must be mean or combined, got 'null'",
            assertThrows(IllegalArgumentException.class, () -> SecondMoment.parse(null)).getMessage());
        assertEquals("mean or combined", Keyed.choices(SecondMoment.values()));
    }
}
